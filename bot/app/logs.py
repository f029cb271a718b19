"""Logging set-up that can never print a token or key."""

import logging
import re
import sys
from collections.abc import Iterable

# Interaction tokens travel in webhook and callback URLs and in gateway payloads, which discord.py logs at DEBUG.
_URL_TOKENS = re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9_.\-]+")
_PAYLOAD_TOKENS = re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+""")


class RedactingFormatter(logging.Formatter):
    """Formats records as usual, then blanks out known secrets and interaction tokens, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record with secrets replaced by ``[redacted]``."""
        message = super().format(record)
        for secret in self._secrets:
            message = message.replace(secret, "[redacted]")
        message = _URL_TOKENS.sub(r"\1[redacted]", message)
        return _PAYLOAD_TOKENS.sub(r"\1[redacted]", message)


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at ``level``, redacting ``secrets``; discord.py's own loggers are included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx2 logs every request URL at INFO; proxy image URLs can carry signed tokens.
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, root.level))
