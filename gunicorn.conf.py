"""gunicorn settings for production behind nginx: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every setting can be changed from the environment, so one file serves every server size.
"""

import multiprocessing
import os

from dotenv import load_dotenv

load_dotenv()  # the same .env the app reads (wsgi.py), read before gunicorn settles its settings


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# nginx proxies to this address; bind 0.0.0.0 only when the proxy runs on another host.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# CPU-bound work (photo fingerprints, JSON) wants a process per core, plus some to cover I/O waits.
workers = _env_int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
# More than 1 switches to gthread workers: useful when many requests wait on WeChat; 1 is plain sync.
threads = _env_int("GUNICORN_THREADS", 1)

# A request may take this long before the arbiter kills its worker. It stays above what the app waits
# for itself (SQLite's 30 s busy timeout, WeChat's 3 s + 5 s), so those answer 503/502 first.
timeout = _env_int("GUNICORN_TIMEOUT", 45)
# A statement, or a wait for a lock, is cancelled after this many seconds and its request answers 503,
# before the timeout above kills the worker. Set here, so only web workers have it: migrations and cron
# jobs (`flask --app wsgi ...`) keep no limit.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "30")
# On SIGTERM (deploys) in-flight requests get this long to finish.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle connection from nginx stays open (gthread only; sync workers close after each response).
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then (slow leaks), staggered so they do not all restart at once.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Build the app once in the master; workers are forks of it. Booting the app costs ~2.4 s of CPU, so
# without this every recycled worker re-imported it: at 500 requests a second a worker restarted every
# ~4 s and spent half the server's CPU booting (GET /me under this file: 450-600 req/s, 900+ preloaded).
# With it, code changes need a restart (or USR2), not HUP.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def post_fork(server, worker):
    """A worker must not share the master's database connections (sockets, SQLite handles): drop any
    pooled in the master without closing them (they are the master's). The app's other per-process
    state (held read connections, the SQLite writer lock file) already checks the pid."""
    if not server.cfg.preload_app:
        return
    from app.extensions import db

    with server.app.wsgi().app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)

# Behind nginx: trust X-Forwarded-Proto (https) only from the proxy's address. The app's
# TRUSTED_PROXIES setting (ProxyFix) decides the client address from X-Forwarded-For.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app writes one structured log line per request itself (app/logs.py): no gunicorn access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
if os.environ.get("LOG_FORMAT", "json") == "json":
    # gunicorn's own lines (worker boots, timeouts, kills) as JSON too, so the whole stream parses.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": []},  # the app adds its own handler in each worker
        "loggers": {"gunicorn.error": {"level": loglevel.upper(), "handlers": ["json"], "propagate": False}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    }

# No control socket (gunicornc): its background thread in the master is stopped and restarted around
# every fork, and workers forked back to back (after crashes) could hang at boot on a lock it held --
# tests/test_killed_workers.py hit this; see also benoitc/gunicorn#3509, #3529, #3648. It also shares one
# path ($HOME/.gunicorn/gunicorn.ctl) between every gunicorn a user runs.
control_socket_disable = True

# Worker heartbeats on tmpfs, so a slow or full disk never makes the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
