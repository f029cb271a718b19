"""``python -m bot``: read settings, set up logging, run until stopped."""

import asyncio
import os
import sys
from pathlib import Path

import discord
from dotenv import load_dotenv

from bot.config import ConfigError, load_settings
from bot.logs import configure_logging
from bot.runner import serve


def main() -> int:
    """Start the bot; a bad setting ends start-up with one line naming the key."""
    load_dotenv(Path.cwd() / ".env")  # the working directory's, as the README says
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, [settings.discord_token.reveal(), settings.openai_api_key.reveal()])
    try:
        asyncio.run(serve(settings))
    except discord.LoginFailure:
        print("Configuration error: DISCORD_TOKEN: Discord rejected this token", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
