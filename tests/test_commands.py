"""The management commands (``inbox_create_app``, ``inbox_demo``), the README's curl walkthrough
run as printed against a real server, and the OpenAPI schema and docs pages.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from inbox.models import App, Conversation, Message, Participant
from tests.conftest import API
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 60
SNIPPET_TIMEOUT_S = 120

# --- inbox_create_app --------------------------------------------------------------------------


def test_create_app_prints_a_key_that_authenticates_and_stores_only_its_hash(db):
    out = StringIO()
    call_command("inbox_create_app", "Zapier bridge", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]

    app = App.objects.get()
    assert app.name == "Zapier bridge"
    assert app.key_hash == App.hash_key(key)
    # Nothing that is stored lets the key be read back.
    assert not any(key in str(value) for value in App.objects.values().get().values())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=key)
    response = client.post(
        f"{API}/conversations",
        {"participantId": {"contactId": "2a6b4c1e-7d0e-4f1e-9a57-2f0c1d9e4b21"}},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_each_app_gets_its_own_key(db):
    keys = set()
    for _ in range(3):
        out = StringIO()
        call_command("inbox_create_app", "same name", stdout=out)
        keys.add(out.getvalue().strip().splitlines()[-1])
    assert len(keys) == 3
    assert App.objects.count() == 3


# --- inbox_demo --------------------------------------------------------------------------------


def demo_snapshot() -> tuple:
    return (
        sorted(Participant.objects.values_list("pk", flat=True)),
        sorted(Conversation.objects.values_list("pk", flat=True)),
        sorted(Message.objects.values_list("pk", "sequence")),
    )


def test_demo_loads_every_content_type_and_visibility_and_is_idempotent(db, django_user_model):
    out = StringIO()
    call_command("inbox_demo", stdout=out)

    assert set(Message.objects.values_list("content_type", flat=True)) == set(
        Message.ContentType.values
    )
    assert set(Message.objects.values_list("visibility", flat=True)) == set(
        Message.Visibility.values
    )
    assert set(Message.objects.values_list("direction", flat=True)) == set(Message.Direction.values)
    assert set(Participant.objects.values_list("kind", flat=True)) == set(Participant.Kind.values)
    printed = out.getvalue()
    match = re.search(r"admin/inbox/\S*\s+(\S+) / (\S+)", printed)
    assert match, printed
    client = APIClient()
    assert client.login(username=match.group(1), password=match.group(2))
    staff = django_user_model.objects.get(username=match.group(1))
    assert staff.is_staff and staff.has_perm("inbox.view_message")
    assert "/api/docs/" in printed

    before = demo_snapshot()
    users = django_user_model.objects.count()
    call_command("inbox_demo", stdout=StringIO())
    assert demo_snapshot() == before
    assert django_user_model.objects.count() == users


# --- README's curl examples, as printed, against a real server ---------------------------------


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(title)
    end = text.find("\n## ", start)
    return text[start : end if end != -1 else len(text)]


@pytest.fixture
def demo_server(tmp_path):
    """``manage.py runserver`` on a free port over a freshly migrated SQLite file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(SQLITE_PATH=str(tmp_path / "db.sqlite3"), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    python = str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=SNIPPET_TIMEOUT_S,
    )
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not start:\n" + (tmp_path / "server.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield port, env
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def json_documents(text: str) -> list[dict]:
    """The JSON bodies that the snippets' curls printed back to back."""
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


@pytest.mark.slow
def test_readme_curl_examples_work_as_printed(demo_server):
    port, env = demo_server
    section = readme_section("### Try the REST API with curl")
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 3, blocks
    # The snippets run unchanged except for the port; `curl` fails on any HTTP error status.
    script = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n' + "\n".join(
        block.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for block in blocks
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT_S,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)

    sent, listed, visitor_sent = json_documents(result.stdout)
    assert sent["message"]["content"]["basic"]["items"] == [{"text": "Hello from curl"}]
    assert listed["messages"] == [sent["message"]]
    assert visitor_sent["message"]["direction"] == "PARTICIPANT_TO_BUSINESS"
    assert set(visitor_sent["message"]["sender"]) == {"anonymousVisitorId"}


@pytest.mark.slow
def test_api_docs_load_their_assets_from_our_own_server(demo_server):
    port, _ = demo_server
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/api/docs/", timeout=30) as response:
        html = response.read().decode()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/"), f"docs page loads {asset} from elsewhere"
        with urllib.request.urlopen(base + asset, timeout=30) as response:
            assert response.status == 200, asset


# --- OpenAPI -----------------------------------------------------------------------------------

ENDPOINTS = {
    "/v2/conversations": {"post"},
    "/v2/conversations/{conversation_id}": {"get"},
    "/v2/messages": {"get", "post"},
    "/v2/visitors": {"post"},
    "/v2/webhooks/endpoints": {"get", "post"},
    "/v2/webhooks/endpoints/{id}": {"get", "patch", "delete"},
    "/v2/webhooks/endpoints/{id}/rotate-secret": {"post"},
    "/v2/saved-replies": {"get", "post"},
    "/v2/saved-replies/{id}": {"get", "patch", "delete"},
    "/v2/notifications/settings": {"get", "patch"},
}


def test_openapi_schema_is_valid_and_lists_every_endpoint(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    schema = json.loads(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            # Each operation is described by its own view, not by a shared base class.
            assert "Settings every inbox endpoint" not in operation.get("description", ""), (
                path,
                method,
            )
    for prefix in ("/inbox", "/crm/inbox"):
        for path, methods in ENDPOINTS.items():
            assert prefix + path in schema["paths"], sorted(schema["paths"])
            assert methods <= set(schema["paths"][prefix + path]), (
                path,
                schema["paths"][prefix + path],
            )
    # One id per operation and mount, without drf-spectacular's collision suffixes.
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and not [name for name in ids if "_" in name], ids
    assert schema["paths"]["/inbox/v2/messages"]["post"]["operationId"] == "sendMessage"
    assert schema["paths"]["/crm/inbox/v2/messages"]["post"]["operationId"] == "crmSendMessage"
    list_parameters = {
        parameter["name"]
        for parameter in schema["paths"]["/inbox/v2/messages"]["get"]["parameters"]
    }
    assert {
        "conversationId",
        "visibility",
        "paging.limit",
        "paging.cursor",
        "sorting.order",
        ".r",
    } <= list_parameters


def test_api_docs_pages_render_without_a_cdn(client, db):
    for path in ("/api/docs/", "/api/redoc/"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert "/api/schema/" in html
        for cdn in ("cdn.", "jsdelivr", "unpkg", "cdnjs", "googleapis", "http://", "https://"):
            assert cdn not in html, (path, cdn)
