"""Credentials in handshake URLs never reach a log line."""

import logging

import pytest

from inbox.logging import RedactCredentialsFilter, redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/ws/inbox/participant/?token=vt.abc:def", "/ws/inbox/participant/?token=[redacted]"),
        (
            "/ws/inbox/business/?x=1&token=ibx_secret&y=2",
            "/ws/inbox/business/?x=1&token=[redacted]&y=2",
        ),
        ('"WebSocket /ws/?TOKEN=abc" [accepted]', '"WebSocket /ws/?TOKEN=[redacted]" [accepted]'),
        ("/inbox/v2/messages?conversationId=1", "/inbox/v2/messages?conversationId=1"),
    ],
)
def test_redact(line, expected):
    assert redact(line) == expected


def test_filter_redacts_message_and_args(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactCredentialsFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/ws/?token=vt.secret")
        logger.info("connect /ws/?token=ibx_secret")
    assert "secret" not in caplog.text
    assert caplog.text.count("[redacted]") == 2


def test_demo_settings_attach_the_filter_to_server_loggers(settings):
    loggers = settings.LOGGING["loggers"]
    for name in ("uvicorn.access", "uvicorn.error", "daphne", "django.channels.server"):
        assert loggers[name]["handlers"] == ["console"]
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["redact_credentials"]
