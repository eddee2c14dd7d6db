"""Django settings, read from environment variables (see README, "Configuration").

Nothing needs to be set: the default is an SQLite database, a local outbox folder and generated
documents under ``MAHNWERK_DATA_DIR`` (``./data``). A bad value stops start-up with a message that
names the variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from mahnwerk import env

BASE_DIR = Path(__file__).resolve().parent

DATA_DIR = env.directory("MAHNWERK_DATA_DIR", "./data")
OUTBOX_DIR = DATA_DIR / "outbox"
DOCUMENTS_DIR = DATA_DIR / "documents"

DEBUG = env.boolean("MAHNWERK_DEBUG", False)
_secret = env.raw("MAHNWERK_SECRET_KEY")
if _secret is None:
    # A per-installation key kept in the data directory, so links signed by one process are valid in another.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        _key_file.chmod(0o600)
    _secret = _key_file.read_text(encoding="utf-8").strip()
elif len(_secret) < 32:
    raise env.ImproperlyConfiguredEnv("MAHNWERK_SECRET_KEY: must be at least 32 characters long")
SECRET_KEY = _secret

ALLOWED_HOSTS = [
    h.strip() for h in env.string("MAHNWERK_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env.string("MAHNWERK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
BASE_URL = env.string("MAHNWERK_BASE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "axes",
    "mahnwerk.ledger",
    "mahnwerk.collection",
    "mahnwerk.comms",
    "mahnwerk.insights",
    "mahnwerk.web",
    "mahnwerk.api",
    "mahnwerk.hooks",
    "mahnwerk.work",
    "mahnwerk.partners",
    "mahnwerk.escalation",
    "mahnwerk.experiments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mahnwerk.web.middleware.ContentSecurityPolicyMiddleware",
    "mahnwerk.web.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mahnwerk.urls"
WSGI_APPLICATION = "mahnwerk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

_db = env.database_url("MAHNWERK_DATABASE_URL", f"sqlite:///{DATA_DIR / 'mahnwerk.sqlite3'}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _db["CONN_MAX_AGE"] = 0
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Sign-in throttling (django-axes): after MAHNWERK_LOGIN_FAILURES failed sign-ins for one user name from one
# address, that pair is locked out for MAHNWERK_LOGIN_LOCKOUT_MINUTES; a successful sign-in resets the count.
# Covers the sign-in page and the admin site. Axes comes first: it refuses a locked-out pair before any password
# is checked. Behind reverse proxies, MAHNWERK_PROXY_COUNT (how many) makes the client's address the one the
# outermost proxy put into X-Forwarded-For; otherwise every client has the proxy's address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.integer("MAHNWERK_LOGIN_FAILURES", 5, minimum=1, maximum=1000)
AXES_COOLOFF_TIME = timedelta(
    minutes=env.integer("MAHNWERK_LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=7 * 24 * 60)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
PROXY_COUNT = env.integer("MAHNWERK_PROXY_COUNT", 0, minimum=0, maximum=10)
AXES_CLIENT_IP_CALLABLE = "mahnwerk.web.throttle.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mahnwerk.web.throttle.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # keep failed attempts only, not a record of every sign-in
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env.choice("MAHNWERK_LANGUAGE", "en", {"en", "de", "lv"})
LANGUAGES = [("en", _("English")), ("de", _("German")), ("lv", _("Latvian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.time_zone("MAHNWERK_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DOCUMENTS_DIR},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Email: a local outbox folder of .eml files unless an SMTP host is configured.
DEFAULT_FROM_EMAIL = env.string("MAHNWERK_EMAIL_FROM", "Mahnwerk <noreply@localhost>")
SMTP_HOST = env.raw("MAHNWERK_SMTP_HOST")
if SMTP_HOST:
    _security = env.choice("MAHNWERK_SMTP_SECURITY", "none", {"none", "starttls", "ssl"})
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": SMTP_HOST,
                "port": env.integer("MAHNWERK_SMTP_PORT", 25, minimum=1, maximum=65535),
                "username": env.string("MAHNWERK_SMTP_USER", ""),
                "password": env.string("MAHNWERK_SMTP_PASSWORD", ""),
                "use_tls": _security == "starttls",
                "use_ssl": _security == "ssl",
                "timeout": env.integer("MAHNWERK_SMTP_TIMEOUT", 30, minimum=1),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "mahnwerk.comms.backends.OutboxFolderBackend",
            "OPTIONS": {"file_path": str(OUTBOX_DIR)},
        }
    }

# SMS: a JSON-over-HTTPS provider when MAHNWERK_SMS_URL is set; otherwise JSON files in the outbox folder.
SMS_URL = env.string("MAHNWERK_SMS_URL", "")
SMS_TOKEN = env.string("MAHNWERK_SMS_TOKEN", "")
SMS_SENDER = env.string("MAHNWERK_SMS_SENDER", "Mahnwerk")
if SMS_URL and not SMS_TOKEN:
    raise env.ImproperlyConfiguredEnv("MAHNWERK_SMS_TOKEN: required when MAHNWERK_SMS_URL is set")
# Which emails carry the reminder as a PDF letter: "formal" (final notices), "all" or "none".
EMAIL_PDF = env.choice("MAHNWERK_EMAIL_PDF", "formal", {"formal", "all", "none"})
# Shared secret of the inbound endpoint for bounces and replies (POST /inbound/email); empty: endpoint off.
INBOUND_TOKEN = env.string("MAHNWERK_INBOUND_TOKEN", "")

# Request bodies (bulk API calls, uploads): 2.5 MB holds about 14,000 invoices; raise for larger batches.
# A request announcing a larger body is answered 413 before its body is read (RequestSizeLimitMiddleware).
MAX_REQUEST_BYTES = env.integer("MAHNWERK_MAX_REQUEST_MB", 20, minimum=1, maximum=1024) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# An uploaded file larger than this is streamed to a temporary file instead of being held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Content-Security-Policy on every response: scripts and styles from this server only (styles also inline:
# the templates use style attributes), images also as data: URIs (the GiroCode), no plugins, no framing.
# The two inline event handlers of the templates (language switch, confirmation before a reset) are allowed by
# their hashes, which the middleware adds (mahnwerk.web.middleware.inline_handler_hashes).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# MAHNWERK_HTTPS=1: the installation is served over TLS only, usually behind a reverse proxy that terminates TLS
# and sets X-Forwarded-Proto (which is then trusted, so the proxy must set or strip it on every request).
# Cookies are sent over HTTPS only, browsers are told to use HTTPS for a year (HSTS, subdomains included),
# plain-HTTP requests are redirected (except the health check, for load balancers probing over HTTP).
HTTPS = env.boolean("MAHNWERK_HTTPS", False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS preloading commits the whole registrable domain to HTTPS in browsers for good: a decision for the
# domain's owner (hstspreload.org), not for one application on it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Collection run tuning.
RUN_CHUNK_SIZE = env.integer("MAHNWERK_RUN_CHUNK_SIZE", 2000, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env.choice("MAHNWERK_LOG_LEVEL", "WARNING", {"DEBUG", "INFO", "WARNING", "ERROR"}),
    },
}
