"""``python -m bot``: read settings, set up logging, run until stopped."""

import asyncio
import sys

import discord

from bot.app.config import settings_from_environment
from bot.app.logs import configure_logging
from bot.app.runner import serve
from bot.core.errors import ConfigError, ServiceUnreachableError
from storage.database import MigrationError


def main() -> int:
    """Start the bot; a bad setting ends start-up with one line naming the key."""
    try:
        settings = settings_from_environment()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, [settings.discord_token.reveal(), settings.openai_api_key.reveal()])
    try:
        asyncio.run(serve(settings))
    except discord.LoginFailure:
        print("Configuration error: DISCORD_TOKEN: Discord rejected this token", file=sys.stderr)
        return 2
    except ConfigError as exc:  # found at start-up: a retired model, a refused key
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except MigrationError as exc:  # a database newer than this code, or a migration that failed
        print(f"Database error: DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    except ServiceUnreachableError as exc:
        print(f"Start-up error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
