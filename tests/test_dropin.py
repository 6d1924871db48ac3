"""The app as a new user gets it (issue #12): the wheel built from this repository, installed into
a fresh virtual environment, in a fresh ``django-admin startproject`` site set up with the
README's own snippets (the fenced blocks after ``<!-- dropin: … -->`` comments, so the README
cannot drift from what works), a custom user model, DEBUG off, whitenoise, under uvicorn.

Fast and offline after the build: the venv installs only the wheel (``--no-deps``) and reaches
the already-installed dependencies through a ``.pth`` file naming this interpreter's
site-packages (the wheel's ``inbox`` comes first on ``sys.path``; the repository is never on it).
Building the wheel needs the build backend of ``pyproject.toml`` (setuptools >= 77): the one
installed here when it is recent enough, else pip fetches it into an isolated build environment
(from its cache when it has one)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
CUSTOM_USER = ROOT / "tests" / "custom_user"
DROPIN = re.compile(r"<!-- dropin: (append|replace) (\S+) -->\s*```python\n(.*?)```", re.DOTALL)
# Django's own --deploy warnings that a plain-http site on one process with SQLite triggers:
# HSTS, the HTTPS redirect and secure cookies (W004, W008, W012, W016) belong to a TLS
# deployment; inbox.W002 (in-memory layer) and inbox.W010 (SQLite) to several workers.
ACCEPTED_DEPLOY_WARNINGS = {
    "security.W004",
    "security.W008",
    "security.W012",
    "security.W016",
    "inbox.W002",
    "inbox.W010",
}
# What the extras and the site add; none of it may be needed to import the app.
OPTIONAL_PACKAGES = [
    "channels_redis",
    "redis",
    "msgpack",
    "daphne",
    "twisted",
    "autobahn",
    "uvicorn",
    "websockets",
    "httptools",
    "uvloop",
    "watchfiles",
    "whitenoise",
    "psycopg",
    "psycopg2",
    "psycopg_pool",
]
TIMEOUT = 10
# With the build backend installed here, the build is offline too; else pip fetches it.
BUILD_ISOLATION = (
    ["--no-build-isolation"] if int(metadata.version("setuptools").split(".")[0]) >= 77 else []
)

pytestmark = pytest.mark.slow


def run(*args: Any, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel built from this repository, reusing the installed dependencies."""
    work = tmp_path_factory.mktemp("dropin")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(ROOT / name, source / name)
    # A copy, because setuptools builds in the source tree (build/, *.egg-info).
    shutil.copytree(ROOT / "inbox", source / "inbox", ignore=shutil.ignore_patterns("__pycache__"))
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        *BUILD_ISOLATION,
        "--no-deps",
        "-q",
        "-w",
        work / "dist",
        ".",
        cwd=source,
    )
    [wheel] = (work / "dist").glob("django_inbox-*.whl")

    run(sys.executable, "-m", "venv", "--without-pip", work / "venv", cwd=work)
    python = work / "venv" / "bin" / "python"
    purelib = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=work
        ).strip()
    )
    reused = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (purelib / "reuse-test-dependencies.pth").write_text("\n".join(sorted(reused)) + "\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=work,
    )
    where = run(python, "-c", "import inbox; print(inbox.__file__)", cwd=work, env=clean_env())
    assert where.strip().startswith(str(purelib)), where
    return python


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    return {**env, **extra}


# Every module imports with only the required dependencies -----------------------------------

IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys

BLOCKED = set(sys.argv[1].split(","))


class BlockOptional:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, BlockOptional())

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="import-test",
    INSTALLED_APPS=[
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
        "rest_framework", "django_filters", "drf_spectacular", "channels", "inbox",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    CHANNEL_LAYERS={"default": {"BACKEND": "inbox.realtime.layers.RedisPubSubChannelLayer"}},
    ROOT_URLCONF="inbox.urls",
    ASGI_APPLICATION="inbox.asgi.application",
    STATIC_URL="static/",
)
django.setup()

import inbox
from django.core import checks

failures = {}
for module in pkgutil.walk_packages(inbox.__path__, "inbox."):
    try:
        importlib.import_module(module.name)
    except Exception as error:
        failures[module.name] = f"{type(error).__name__}: {error}"
try:
    from inbox.realtime.layers import RedisPubSubChannelLayer
    redis_layer = "imported"
except Exception as error:
    redis_layer = f"{type(error).__name__}: {error}"
check_ids = sorted({m.id for m in checks.run_checks() if m.id and m.id.startswith("inbox.")})
print(json.dumps({"failures": failures, "redis_layer": redis_layer, "checks": check_ids}))
"""


def test_every_module_imports_with_only_the_required_dependencies(venv_python, tmp_path):
    output = run(
        venv_python,
        "-c",
        IMPORT_EVERY_MODULE,
        ",".join(OPTIONAL_PACKAGES),
        cwd=tmp_path,
        env=clean_env(),
    )
    result = json.loads(output.strip().splitlines()[-1])
    # The one module that is the [redis] extra; it is reached through layers.__getattr__.
    assert set(result["failures"]) == {"inbox.realtime.redis_layer"}, result["failures"]
    assert "channels_redis" in result["failures"]["inbox.realtime.redis_layer"]
    assert result["redis_layer"].startswith("ImproperlyConfigured"), result
    assert 'pip install "django-inbox[redis]"' in result["redis_layer"]
    assert "inbox.E011" in result["checks"]


# A fresh site set up from the README ------------------------------------------------------------


def readme_snippets() -> list[tuple[str, str, str]]:
    snippets = DROPIN.findall((ROOT / "README.md").read_text())
    targets = {target for _, target, _ in snippets}
    assert {"mysite/settings.py", "mysite/urls.py", "mysite/asgi.py"} <= targets, targets
    return snippets


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def site(venv_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("site")
    env = clean_env()
    run(venv_python, "-m", "django", "startproject", "mysite", folder, cwd=folder, env=env)
    for mode, target, code in readme_snippets():
        path = folder / target
        if mode == "replace":
            path.write_text(code)
        else:
            path.write_text(path.read_text() + "\n" + code)
    accounts = folder / "accounts"
    (accounts / "migrations").mkdir(parents=True)
    (accounts / "__init__.py").write_text("")
    (accounts / "migrations" / "__init__.py").write_text("")
    (accounts / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass AccountsConfig(AppConfig):\n"
        '    name = "accounts"\n'
    )
    shutil.copy(CUSTOM_USER / "models.py", accounts / "models.py")
    shutil.copy(CUSTOM_USER / "migrations" / "0001_initial.py", accounts / "migrations")
    port = free_port()
    settings = folder / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\n# The test's own: a custom user model and a production-like site (not the README's).\n"
        + 'INSTALLED_APPS += ["accounts"]\nAUTH_USER_MODEL = "accounts.User"\n'
        + f'DEBUG = False\nALLOWED_HOSTS = ["127.0.0.1"]\nSECRET_KEY = "{secrets.token_urlsafe(50)}"\n'
    )
    manage = [venv_python, "manage.py"]
    run(*manage, "migrate", "-v0", cwd=folder, env=env)
    run(*manage, "collectstatic", "--noinput", "-v0", cwd=folder, env=env)
    deploy = run(*manage, "check", "--deploy", cwd=folder, env=env)
    key = run(*manage, "inbox_create_app", "dropin", cwd=folder, env=env).strip().splitlines()[-1]
    users = run(*manage, "shell", "-c", CREATE_USERS, cwd=folder, env=env)
    member_session = users.strip().splitlines()[-1]

    server = subprocess.Popen(
        [venv_python, "-m", "uvicorn", "mysite.asgi:application", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    "uvicorn did not start"
                )
                time.sleep(0.2)
        yield {
            "base": base,
            "port": port,
            "key": key,
            "member_session": member_session,
            "deploy": deploy,
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


CREATE_USERS = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

User = get_user_model()
staff = User.objects.create_user(email="staff@example.com", password="staff-pw-123", is_staff=True)
staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
member = User.objects.create_user(email="member@example.com", password="member-pw-123")
client = Client()
client.force_login(member)
print(client.cookies["sessionid"].value)
"""


def call(
    site: dict[str, Any], method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(site["base"] + path, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def text(value: str, direction: str) -> dict[str, Any]:
    return {"direction": direction, "content": {"basic": {"items": [{"text": value}]}}}


def test_check_deploy_is_clean_but_for_plain_http_and_one_process(site):
    assert "ERRORS" not in site["deploy"], site["deploy"]
    reported = set(re.findall(r"\(([a-z_]+\.[A-Z]\d+)\)", site["deploy"]))
    assert reported <= ACCEPTED_DEPLOY_WARNINGS, site["deploy"]


def test_rest_with_an_api_key_and_a_live_event_on_the_business_socket(site):
    auth = {"Authorization": site["key"]}
    status, _, body = call(
        site,
        "POST",
        "/inbox/v2/conversations",
        {"participantId": {"contactId": str(uuid.uuid4())}},
        **auth,
    )
    assert status == 200, body
    conversation_id = body["conversation"]["id"]
    with connect(
        f"ws://127.0.0.1:{site['port']}/ws/inbox/business/",
        additional_headers=auth,
        origin=f"http://127.0.0.1:{site['port']}",
        open_timeout=TIMEOUT,
    ) as stream:
        assert json.loads(stream.recv(timeout=TIMEOUT))["type"] == "hello"
        stream.send(json.dumps({"type": "resume"}))
        assert json.loads(stream.recv(timeout=TIMEOUT))["type"] == "ready"

        status, _, sent = call(
            site,
            "POST",
            "/inbox/v2/messages",
            {
                "conversationId": conversation_id,
                "message": text("hello", "BUSINESS_TO_PARTICIPANT"),
            },
            **auth,
        )
        assert status == 200, sent

        frame = json.loads(stream.recv(timeout=TIMEOUT))
        assert frame["type"] == "event", frame
        assert frame["event"]["entityId"] == sent["message"]["id"]

    query = urllib.parse.urlencode({"conversationId": conversation_id, "visibility": "BUSINESS"})
    status, _, listed = call(site, "GET", f"/inbox/v2/messages?{query}", **auth)
    assert status == 200, listed
    assert [m["id"] for m in listed["messages"]] == [sent["message"]["id"]]


def test_a_visitor_sends(site):
    status, _, visitor = call(site, "POST", "/inbox/v2/visitors")
    assert status == 200, visitor
    status, _, sent = call(
        site,
        "POST",
        "/inbox/v2/messages",
        {"message": text("hi from a visitor", "PARTICIPANT_TO_BUSINESS")},
        Authorization=f"Bearer {visitor['token']}",
    )
    assert status == 200, sent
    assert "anonymousVisitorId" in sent["message"]["sender"]


def test_a_member_of_the_custom_user_model_sends_with_the_session(site):
    csrf = secrets.token_hex(16)  # a CSRF secret of Django's length, sent as cookie and header
    status, _, sent = call(
        site,
        "POST",
        "/inbox/v2/messages",
        {"message": text("hi from a member", "PARTICIPANT_TO_BUSINESS")},
        Cookie=f"sessionid={site['member_session']}; csrftoken={csrf}",
        **{"X-CSRFToken": csrf},
    )
    assert status == 200, sent
    assert "memberId" in sent["message"]["sender"]
    status, _, rows = call(site, "GET", "/inbox/v2/conversations", Authorization=site["key"])
    names = {row["conversation"]["participantDisplayData"]["name"] for row in rows["conversations"]}
    assert "member@example.com" in names


def test_the_staff_page_loads_its_script(site):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    login = f"{site['base']}/admin/login/?next=/admin/inbox/staffinbox/"
    form = opener.open(login, timeout=TIMEOUT).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, form
    fields = {
        "csrfmiddlewaretoken": token.group(1),
        "username": "staff@example.com",
        "password": "staff-pw-123",
        "next": "/admin/inbox/staffinbox/",
    }
    with opener.open(login, data=urllib.parse.urlencode(fields).encode(), timeout=TIMEOUT) as page:
        assert page.status == 200
        assert page.url.endswith("/admin/inbox/staffinbox/"), page.url
        html = page.read().decode()
    script = re.search(r'<script[^>]* src="([^"]*inbox/admin/[^"]+\.js)"', html)
    assert script, html
    with opener.open(site["base"] + script.group(1), timeout=TIMEOUT) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].split(";")[0] in {
            "text/javascript",
            "application/javascript",
        }
