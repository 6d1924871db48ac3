"""System checks over the site's settings: every INBOX value is validated at ``manage.py check``,
not on the first request; unknown keys warn; a missing channel layer is flagged without
``--deploy`` (issue #12)."""

from typing import Any

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.utils.translation import gettext_lazy

from inbox.checks import (
    SETTING_RULES,
    check_channel_layer,
    check_inbox_settings,
    check_installed_apps,
    check_task_backend,
)
from inbox.conf import DEFAULTS


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_every_setting_has_a_rule_and_its_default_passes_it() -> None:
    assert set(SETTING_RULES) == set(DEFAULTS)
    for key, rule in SETTING_RULES.items():
        assert rule(DEFAULTS[key]) is None, key


def test_the_demo_settings_pass() -> None:
    assert check_inbox_settings() == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("THROTTLE_RATES", {"visitor": "bogus"}),
        ("THROTTLE_RATES", {"visitor": "10/fortnight"}),
        ("THROTTLE_RATES", {"visitor": 10}),
        ("THROTTLE_RATES", {"visiter": "10/s"}),
        ("THROTTLE_RATES", "10/s"),
        ("MAX_BODY_BYTES", "512k"),
        ("MAX_BODY_BYTES", 0),
        ("MAX_BODY_BYTES", True),
        ("REPLAY_LIMIT", 2.5),
        ("VISITOR_TOKEN_MAX_AGE", -1),
        ("SOCKET_RECHECK_SECONDS", 0),
        ("SOCKET_RESUME_WAIT_SECONDS", 0),
        ("SOCKET_RESUME_WAIT_SECONDS", "3s"),
        ("RESUME_WINDOW_SECONDS", None),
        ("GROUP_PREFIX", "in box"),
        ("GROUP_PREFIX", "x" * 51),
        ("GROUP_PREFIX", ""),
        ("BUSINESS_NAME", None),
        ("BUSINESS_IMAGE_URL", 3),
        ("THROTTLE_CACHE", "nosuchcache"),
        ("OUTBOX_RELAY_GRACE_SECONDS", -1),
        ("OUTBOX_RELAY_INTERVAL_SECONDS", 0),
        ("OUTBOX_RETENTION_SECONDS", "7d"),
        ("PRESENCE_TTL_SECONDS", 0),
        ("BUSINESS_HOURS", {"monday": ["09:00-17:00"]}),
        ("BUSINESS_HOURS", {"mon": "09:00-17:00"}),
        ("BUSINESS_HOURS", {"mon": ["9-17"]}),
        ("BUSINESS_HOURS", {"mon": ["17:00-09:00"]}),
        ("BUSINESS_HOURS", ["09:00-17:00"]),
        ("BUSINESS_TIMEZONE", "Mars/Olympus"),
        ("REPLY_WITHIN_MINUTES", 0),
        ("AWAY_REPLY", "yes"),
        ("AWAY_MESSAGE", None),
        ("NOTIFY_SITE_URL", "shop.example"),
        ("NOTIFY_SITE_URL", "https://shop.example/"),
        ("NOTIFY_PARTICIPANT_AFTER", -1),
        ("NOTIFY_STAFF_AFTER", "3m"),
        ("NOTIFY_CHAT_URL", None),
        ("NOTIFY_FROM_EMAIL", 3),
        ("NOTIFY_PARTICIPANT_EMAIL", "inbox.notifications.recipients.nosuchfunction"),
        ("NOTIFY_PARTICIPANT_EMAIL", "inbox.conf.DEFAULTS"),
        ("NOTIFY_PARTICIPANT_EMAIL", 3),
        ("NOTIFY_THREAD_MESSAGES", 0),
        ("ATTACHMENT_UPLOAD_RATES", {"visitor": "20/fortnight"}),
        ("ATTACHMENT_UPLOAD_RATES", {"visitor_create": "1/s"}),
        ("ATTACHMENT_UPLOAD_RATES", "20/min"),
        ("ATTACHMENT_QUOTA_BYTES", {"visitor": "200MB"}),
        ("ATTACHMENT_QUOTA_BYTES", {"member": 0}),
        ("ATTACHMENT_QUOTA_BYTES", {"member": True}),
        ("ATTACHMENT_QUOTA_BYTES", {"robot": 10}),
        ("ATTACHMENT_QUOTA_WINDOW_SECONDS", 0),
        ("ATTACHMENT_THUMBNAIL_SIZE", 8),
        ("ATTACHMENT_THUMBNAIL_SIZE", 320.5),
    ],
)
def test_a_bad_value_is_an_error_with_a_hint(key: str, value: Any) -> None:
    with override_settings(INBOX={key: value}):
        messages = check_inbox_settings()
    assert ids(messages) == ["inbox.E021"]
    assert key in messages[0].msg
    assert messages[0].hint


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("THROTTLE_RATES", {"visitor": None, "app": "100/min", "staff": "5/h", "member": "1/day"}),
        ("SOCKET_RECHECK_SECONDS", 0.5),
        ("SOCKET_RESUME_WAIT_SECONDS", 0.25),
        ("BUSINESS_IMAGE_URL", "https://example.com/logo.png"),
        ("GROUP_PREFIX", "site-a.inbox_2"),
        ("RESUME_WINDOW_SECONDS", 0),
        ("BUSINESS_HOURS", {"mon": ["09:00-12:30", "13:30-17:00"], "sat": ["00:00-24:00"]}),
        ("BUSINESS_TIMEZONE", "Europe/Lisbon"),
        ("REPLY_WITHIN_MINUTES", None),
        ("AWAY_MESSAGE", gettext_lazy("Back soon")),
        ("ATTACHMENT_UPLOAD_RATES", {"app": "100/min", "visitor": None}),
        ("ATTACHMENT_QUOTA_BYTES", {"staff": 10**9, "visitor": None}),
        ("ATTACHMENT_QUOTA_WINDOW_SECONDS", 3600),
        ("ATTACHMENT_THUMBNAIL_SIZE", 64),
    ],
)
def test_good_values_pass(key: str, value: Any) -> None:
    with override_settings(INBOX={key: value}):
        assert check_inbox_settings() == []


def test_a_misspelt_key_warns_and_names_the_right_one() -> None:
    with override_settings(INBOX={"BUSSINESS_NAME": "Shop"}):
        messages = check_inbox_settings()
    assert ids(messages) == ["inbox.W020"]
    assert "'BUSINESS_NAME'" in messages[0].hint


def test_inbox_must_be_a_dict() -> None:
    with override_settings(INBOX=["BUSINESS_NAME"]):
        assert ids(check_inbox_settings()) == ["inbox.E020"]


def test_manage_py_check_fails_on_a_bad_setting() -> None:
    with override_settings(INBOX={"THROTTLE_RATES": {"visitor": "bogus"}}):
        with pytest.raises(SystemCheckError, match="inbox.E021"):
            call_command("check")


def test_a_missing_channel_layer_is_flagged_without_deploy() -> None:
    with override_settings(CHANNEL_LAYERS={}):
        assert ids(check_channel_layer()) == ["inbox.W001"]
        assert "inbox.W001" in ids(checks.run_checks(include_deployment_checks=False))


@pytest.mark.parametrize(
    "tasks",
    [{}, {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}],
)
def test_a_task_backend_other_than_the_database_warns(tasks: dict[str, Any]) -> None:
    with override_settings(TASKS=tasks):
        messages = check_task_backend()
    assert ids(messages) == ["inbox.W003"]
    assert "db_worker" in messages[0].hint


def test_the_task_runner_apps_are_required() -> None:
    with override_settings(
        INSTALLED_APPS=[
            app for app in settings.INSTALLED_APPS if app not in {"django_tasks", "django_tasks_db"}
        ]
    ):
        assert ids(check_installed_apps()) == ["inbox.E006", "inbox.E007"]


def test_a_channel_layer_backend_that_cannot_be_imported_is_an_error() -> None:
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "inbox.realtime.layers.Nope"}}):
        [error] = check_channel_layer()
        assert error.id == "inbox.E011"
        assert "inbox.realtime.layers.Nope" in error.msg
