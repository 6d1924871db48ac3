"""A logging filter that keeps credentials out of logs.

Browsers cannot set headers on a WebSocket, so visitor tokens and API keys may travel as
``?token=`` on the handshake. ASGI servers log request paths with their query string; attach
``RedactCredentialsFilter`` to their loggers (the demo settings do, for uvicorn, daphne and
runserver) so the token never reaches a log file.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"((?:^|[?&;\s])(?:token|access_token|key)=)[^&;\s\"']+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _TOKEN.sub(lambda match: match.group(1) + REDACTED, text)


class RedactCredentialsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                key: redact(value) if isinstance(value, str) else value
                for key, value in record.args.items()
            }
        return True
