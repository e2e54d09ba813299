#!/bin/sh
# Entrypoint of the CareCoord image (Dockerfile, docker-compose.yml).
#
#   web (the default command): apply migrations, build the demo world with seed_demo (idempotent,
#       safe to rerun), then replace this shell with gunicorn. Extra arguments go to gunicorn.
#   anything else, e.g. `celery -A carecoord worker`: run as given. Only web migrates.
#
# Set CARECOORD_SEED_DEMO=0 to skip seed_demo (it creates logins with a shared, known password).
set -eu

if [ "$#" -eq 0 ]; then
    set -- web
fi

if [ "$1" = "web" ]; then
    shift
    # Uploads live in $CARECOORD_VAR_DIR/private; fail now, not on the first upload, if the
    # volume is not writable by this user.
    mkdir -p "${CARECOORD_VAR_DIR:-/app/var}/private"
    # No key given: make a random one, once, in the shared volume (worker and beat read it too).
    if [ -z "${DJANGO_SECRET_KEY:-}" ] && [ -n "${DJANGO_SECRET_KEY_FILE:-}" ] && [ ! -s "$DJANGO_SECRET_KEY_FILE" ]; then
        (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$DJANGO_SECRET_KEY_FILE")
    fi
    python manage.py migrate --noinput
    if [ "${CARECOORD_SEED_DEMO:-1}" != "0" ]; then
        python manage.py seed_demo
    fi
    exec gunicorn carecoord.wsgi:application \
        --bind 0.0.0.0:8000 \
        --workers "${WEB_CONCURRENCY:-3}" \
        --timeout "${GUNICORN_TIMEOUT:-120}" \
        --access-logfile - \
        "$@"
fi

exec "$@"
