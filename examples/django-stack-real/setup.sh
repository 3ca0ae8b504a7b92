#!/usr/bin/env bash
# Installs what the real-stack example needs, idempotently: Debian's nginx and
# redis-server, a Python virtualenv with Django, Daphne, Channels, Celery and redis, and
# Vite. Run as root on Debian/Ubuntu (CI does); elsewhere install the same by hand.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts the services it installs; supd runs its own.
    service nginx stop >/dev/null 2>&1 || true
    service redis-server stop >/dev/null 2>&1 || true
fi

if [ ! -x venv/bin/daphne ] || [ ! -x venv/bin/celery ]; then
    echo "setup: creating venv/ with django, daphne, channels, celery, redis (pip)"
    python3 -m venv venv
    venv/bin/pip install -q --disable-pip-version-check \
        'django>=5,<6' 'daphne>=4,<5' 'channels>=4,<5' 'celery>=5,<6' 'redis>=5'
fi

if [ ! -x frontend/node_modules/.bin/vite ]; then
    echo "setup: installing vite (npm)"
    (cd frontend && npm install --no-audit --no-fund --loglevel=error)
fi

mkdir -p var/nginx/tmp
echo "setup: done"
