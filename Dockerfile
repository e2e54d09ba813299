# CareCoord image: one image for the web app (gunicorn), the Celery worker and Celery beat.
# docker-compose.yml runs all three with PostgreSQL and Redis; the default command is "web"
# (docker/entrypoint.sh: migrate, seed_demo, gunicorn on port 8000).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_DEBUG=0 \
    CARECOORD_VAR_DIR=/app/var

WORKDIR /app

# The app runs as this unprivileged user; the code stays owned by root and read-only to it.
RUN groupadd --system --gid 10001 carecoord \
    && useradd --system --uid 10001 --gid carecoord --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin carecoord

# Dependencies before code, so this layer is rebuilt only when pyproject.toml changes.
# `--group` (PEP 735 dependency groups) needs pip 25.1+. The project itself is not a package
# and is not installed.
COPY pyproject.toml ./
RUN python -m pip install --upgrade "pip>=25.1" \
    && python -m pip install --group app

COPY . .

# collectstatic needs DEBUG off (whitenoise's CompressedManifestStaticFilesStorage) and, with
# DEBUG off, a secret key: this throwaway one exists only for this step and is not in the image's
# environment. Static files go to STATIC_ROOT, /app/staticfiles.
# /app/var is created here, owned by the app user, so that a named volume mounted on it starts
# out with that ownership (uploads live in /app/var/private, beat's schedule in /app/var).
RUN sed -i 's/\r$//' docker/entrypoint.sh \
    && chmod 0755 docker/entrypoint.sh \
    && DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-at-build-time-only \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var/private \
    && chown -R carecoord:carecoord /app/var

USER carecoord
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
