"""A heartbeat file for container health checks: ``python -m bot.app.health`` exits 0 while the bot is connected."""

import sys
import time
from pathlib import Path

from bot.app.config import settings_from_environment
from bot.core.errors import ConfigError

HEARTBEAT_INTERVAL_SECONDS = 30.0
HEARTBEAT_MAX_AGE_SECONDS = 3 * HEARTBEAT_INTERVAL_SECONDS


def heartbeat_path(database_path: Path) -> Path:
    """Where the heartbeat lives: beside the database, on the same volume."""
    return database_path.parent / "heartbeat"


def write_heartbeat(path: Path, now: float) -> None:
    """Record that the bot was connected at ``now`` (seconds since the epoch)."""
    path.write_text(f"{now:.0f}\n", encoding="utf-8")


def is_healthy(path: Path, now: float, max_age: float = HEARTBEAT_MAX_AGE_SECONDS) -> bool:
    """True when a heartbeat newer than ``max_age`` seconds exists at ``path``."""
    try:
        beat = float(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    return 0 <= now - beat <= max_age


def main() -> int:
    """Health-check entry point, reading the same settings as the bot."""
    try:
        settings = settings_from_environment()
    except ConfigError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0 if is_healthy(heartbeat_path(settings.database_path), time.time()) else 1


if __name__ == "__main__":
    sys.exit(main())
