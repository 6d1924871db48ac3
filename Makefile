# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint serve venv install js browser gettext messages floor clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Wix's JavaScript SDK for the real-client compatibility test (skipped without node).
tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the Wix SDK compatibility test will be skipped"; fi

js: tests/js/node_modules/.installed

# Debian's Chromium for the browser tests (never `playwright install`: no download site is reachable).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found and cannot be installed here: browser tests will be skipped"; fi

# GNU gettext for the translation tests (tests/test_locale.py runs makemessages and msgfmt).
gettext:
	@if command -v msgfmt >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; \
	else echo "GNU gettext not found and cannot be installed here: the catalog tests will be skipped"; fi

# After changing a translated string: refresh both domains' catalogs, translate, then compile.
messages: install gettext
	cd inbox && ../$(PY) ../manage.py makemessages -l pt -l ar --no-obsolete
	cd inbox && ../$(PY) ../manage.py makemessages -d djangojs -l pt -l ar --no-obsolete
	cd inbox && ../$(PY) ../manage.py compilemessages

# The lowest versions pyproject.toml allows, for tests/test_dependency_floor.py (a test never
# downloads anything). Test tools come from .venv through a .pth file placed after the floor's own.
FLOOR := .venv-floor
$(FLOOR)/.installed: pyproject.toml $(VENV)/.installed
	rm -rf $(FLOOR)
	$(VENV)/bin/uv venv -q -p $(PY) $(FLOOR)
	$(VENV)/bin/uv pip install -q --python $(FLOOR)/bin/python --resolution lowest-direct -r pyproject.toml
	$(FLOOR)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > $(FLOOR)/purelib
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > "$$(cat $(FLOOR)/purelib)/zz_dev_tools.pth"
	touch $@

floor: $(FLOOR)/.installed

# The task worker (db_worker) and the outbox relay run beside the server and stop with it.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py inbox_demo
	trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py db_worker & \
	$(PY) manage.py inbox_relay & \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install js browser gettext floor
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@if command -v node >/dev/null 2>&1; then node --test tests/js/unit/; \
	else echo "node not found: the JS unit tests (tests/js/unit) are skipped"; fi
	$(VENV)/bin/pytest

# The scaled profile: PostgreSQL + Redis + WORKERS uvicorn workers on one port, DEBUG off,
# static files collected and served by whitenoise (docs/deployment.md).
WORKERS ?= 2
serve: install
	$(PY) -m project.serve --workers $(WORKERS) --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(FLOOR) tests/js/node_modules db.sqlite3 db.sqlite3-* staticfiles
