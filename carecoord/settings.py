"""CareCoord settings: one module, every deployment-specific value read from the environment.

Defaults work on a developer machine with PostgreSQL and Redis on localhost. Production must set
DJANGO_DEBUG=0, DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS explicitly; see README "Configuration".
"""

from pathlib import Path

import dj_database_url

from carecoord.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CARECOORD_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or the contents of DJANGO_SECRET_KEY_FILE (the Docker image generates one
    into its volume on first start). Never a known value when DEBUG is off."""
    key = env_str("DJANGO_SECRET_KEY", "")
    path = env_str("DJANGO_SECRET_KEY_FILE", "")
    if not key and path:
        key = Path(path).read_text().strip()
    if DEBUG:
        return key or "dev-only-insecure-key"
    if len(key) < 32 or key.startswith(("dev-only", "change-me")):
        raise ImproperlyConfiguredEnv(
            "Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) to a random value of 32+ characters when DJANGO_DEBUG=0."
        )
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "guardian",
    "axes",
    "core",
    "organizations",
    "members",
    "caseloads",
    "referrals",
    "careplans",
    "transitions",
    "caregaps",
    "sdoh",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),  # runserver serves static in DEBUG
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.IdleSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # AxesMiddleware must stay last: it turns lockouts raised by the auth backend into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "carecoord.urls"
WSGI_APPLICATION = "carecoord.wsgi.application"
ASGI_APPLICATION = "carecoord.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/carecoord"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
# Name search (members.search) matches typed words against the name dictionary with pg_trgm.
# Its default similarity threshold (0.3) misses one transposed letter in a short name ("ngyuen");
# 0.25 finds it and still uses the trigram index. JIT compilation costs more than it saves on the
# short queries pages run (measured in bench/).
SEARCH_NAME_SIMILARITY = 0.25
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
    f"-c pg_trgm.similarity_threshold={SEARCH_NAME_SIMILARITY} -c jit=off"
)
# Plain cursors: no DECLARE … WITH HOLD round trips for small iterations (form choices), and safe
# behind a transaction-pooling proxy.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str(
    "DATABASE_TEST_NAME", "test_" + DATABASES["default"]["NAME"]
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL.startswith("redis")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_USER_MODEL = "organizations.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "organizations.backends.ModelBackend",  # Django's, loading the organization with the user
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: cached in Redis and backed by the database. Inactivity, not age, ends a session
# (core.middleware.IdleSessionTimeoutMiddleware); the cookie dies with the browser.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60, minimum=60)
SESSION_COOKIE_AGE = env_int("SESSION_MAX_AGE_SECONDS", 12 * 60 * 60, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# Trust X-Forwarded-Proto only behind a TLS proxy that always sets it; otherwise any client could
# claim https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Lockout (django-axes): after LOGIN_FAILURE_LIMIT failures for one username, that username is
# locked for LOGIN_LOCKOUT_MINUTES whatever the client address, so that spraying one account from
# many addresses does not get around it.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# axes warns when lockout is not keyed on the client address. Ours is keyed on the username alone
# on purpose (see above); the warning's concern, rotating user agents or cookies, does not apply.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    # Uploads hold member data: they live outside any web root and are served only by views that
    # check access. There is deliberately no MEDIA_URL.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "private")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
ROSTER_IMPORT_MAX_BYTES = env_int("ROSTER_IMPORT_MAX_MB", 200, minimum=1) * 1024 * 1024
# ADT in (README "ADT in"): the largest single HL7 message or MLLP frame accepted; bigger ones are
# answered AR (HTTP) or refused and the connection closed (MLLP).
HL7_MAX_MESSAGE_BYTES = env_int("HL7_MAX_MESSAGE_KB", 1024, minimum=1) * 1024

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CareCoord <no-reply@carecoord.invalid>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
REST_KNOX = {
    "TOKEN_TTL": None,  # system tokens are revoked explicitly (README, "API tokens")
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CareCoord API",
    "DESCRIPTION": "Care coordination between health plans, practices and community organizations.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# Celery. Deadlines are database rows swept every DEADLINE_SWEEP_SECONDS (core.deadlines), so
# the broker only ever carries short "do this now" messages; no ETAs, no countdowns.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=10)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest task (the hard time limit), so a slow task is never delivered twice.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 10 * 60,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # `make run` on a machine without Redis (scripts/services.py): kombu's filesystem transport,
    # one folder shared by the worker and beat on this host. Never used by tests or production.
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
DEADLINE_SWEEP_SECONDS = env_int("DEADLINE_SWEEP_SECONDS", 60, minimum=1)
# A deadline handed to the broker and not started within this time is handed over again
# (the broker lost it: Redis restarted, a worker was killed before acknowledging).
DEADLINE_REQUEUE_AFTER_SECONDS = env_int("DEADLINE_REQUEUE_AFTER_SECONDS", 5 * 60, minimum=1)
# The most rows one sweep hands over (in batches of 1,000); a larger backlog goes on next sweep.
DEADLINE_SWEEP_MAX_ROWS = env_int("DEADLINE_SWEEP_MAX_ROWS", 100_000, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "filters": {"request_id": {"()": "core.middleware.RequestIdLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
