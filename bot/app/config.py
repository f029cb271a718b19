"""Settings read once from the environment, validated at start-up."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import load_dotenv

from bot.core.errors import ConfigError
from bot.core.images.catalogue import DEFAULT_MODEL

DISCORD_API_DEFAULT = "https://discord.com/api/v10"
DATABASE_URL_DEFAULT = "sqlite:///data/bot.db"
PROVIDER_MODERATION_LEVELS = ("auto", "low")
QUOTA_USER_DAILY_DEFAULT: int | None = 10
MAX_MODELS = 25
MAX_MODEL_NAME = 100

T = TypeVar("T")


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    """Everything the bot can be configured with; see the README's configuration table."""

    discord_token: Secret
    openai_api_key: Secret
    openai_base_url: str | None = None
    discord_api_base_url: str = DISCORD_API_DEFAULT
    database_path: Path = Path("data/bot.db")
    image_models: tuple[str, ...] = (DEFAULT_MODEL,)
    image_models_key: str = "IMAGE_MODEL"  # the key the models came from, for messages about them
    provider_moderation: str = "auto"
    command_guild_ids: tuple[int, ...] = ()
    log_level: str = "INFO"
    image_concurrency: int = 4
    image_jobs_per_member: int = 1
    progress_edit_interval: float = 1.5
    openai_timeout: float = 120.0
    openai_max_retries: int = 2
    quota_user_daily: int | None = 10
    quota_guild_daily: int | None = None
    store_prompts: bool = False
    moderation_fail_closed: bool = True
    moderation_timeout: float = 10.0


def _image_models(env: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    """The offered models (the default first) and the key they came from."""
    single = env.get("IMAGE_MODEL", "").strip()
    raw = env.get("IMAGE_MODELS", "").strip()
    if not raw:
        if any(ch.isspace() or ch == "," for ch in single):
            raise ConfigError("IMAGE_MODEL", "must be one model name; list several in IMAGE_MODELS")
        return (single or DEFAULT_MODEL,), "IMAGE_MODEL"
    models = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not models or any(any(ch.isspace() for ch in model) for model in models):
        raise ConfigError("IMAGE_MODELS", "must be comma-separated model names, the default first")
    # Discord's limits for a command option's choices.
    if len(models) > MAX_MODELS or any(len(model) > MAX_MODEL_NAME for model in models):
        raise ConfigError(
            "IMAGE_MODELS", f"may name at most {MAX_MODELS} models of at most {MAX_MODEL_NAME} characters"
        )
    if single and single != models[0]:
        raise ConfigError("IMAGE_MODEL", f"conflicts with IMAGE_MODELS, whose first model ({models[0]}) is the default")
    return models, "IMAGE_MODELS"


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def check(key: str, raw: str) -> str:
        value = raw.strip().casefold()
        if value not in options:
            raise ConfigError(key, f"must be one of {', '.join(options)}")
        return value

    return check


def _required_secret(env: Mapping[str, str], key: str) -> Secret:
    value = env.get(key, "").strip()
    if not value:
        raise ConfigError(key, "is required but not set")
    if any(ch.isspace() for ch in value):
        raise ConfigError(key, "must not contain whitespace")
    return Secret(value)


def _http_url(key: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, "must be an http(s) URL such as https://example.com/v1")
    return raw.rstrip("/")


def _database_path(key: str, raw: str) -> Path:
    prefix = "sqlite:///"
    if not raw.startswith(prefix) or len(raw) == len(prefix):
        raise ConfigError(key, "must look like sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return Path(raw[len(prefix) :])


def _guild_ids(key: str, raw: str) -> tuple[int, ...]:
    ids = []
    for part in raw.split(","):
        part = part.strip()  # noqa: PLW2901 - normalising the loop value is the point
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or int(part) == 0:
            raise ConfigError(key, f"must be comma-separated numeric guild ids, got {part[:30]!r}")
        ids.append(int(part))
    return tuple(dict.fromkeys(ids))


def _log_level(key: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(key, "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _daily_limit(key: str, raw: str) -> int | None:
    value = raw.strip().casefold()
    if value == "unlimited":
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > 1_000_000:
        raise ConfigError(key, "must be a whole number of images from 0 to 1000000, or 'unlimited'")
    return int(value)


def _flag(key: str, raw: str) -> bool:
    value = raw.strip().casefold()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(key, "must be true or false")


def _bounded(parse: Callable[[str], T], low: T, high: T) -> Callable[[str, str], T]:
    def check(key: str, raw: str) -> T:
        try:
            value = parse(raw.strip())
        except ValueError:
            raise ConfigError(key, f"must be a number between {low} and {high}") from None
        if not low <= value <= high:  # type: ignore[operator]
            raise ConfigError(key, f"must be between {low} and {high}")
        return value

    return check


def _optional(env: Mapping[str, str], key: str, parse: Callable[[str, str], T], default: T) -> T:
    raw = env.get(key, "")
    return parse(key, raw) if raw.strip() else default


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping, raising :class:`ConfigError` on the first bad key."""
    base_url = env.get("OPENAI_BASE_URL", "").strip()
    image_models, image_models_key = _image_models(env)
    return Settings(
        discord_token=_required_secret(env, "DISCORD_TOKEN"),
        openai_api_key=_required_secret(env, "OPENAI_API_KEY"),
        openai_base_url=_http_url("OPENAI_BASE_URL", base_url) if base_url else None,
        discord_api_base_url=_optional(env, "DISCORD_API_BASE_URL", _http_url, DISCORD_API_DEFAULT),
        database_path=_database_path("DATABASE_URL", env.get("DATABASE_URL", "").strip() or DATABASE_URL_DEFAULT),
        image_models=image_models,
        image_models_key=image_models_key,
        provider_moderation=_optional(env, "PROVIDER_MODERATION", _choice(PROVIDER_MODERATION_LEVELS), "auto"),
        command_guild_ids=_optional(env, "COMMAND_GUILD_IDS", _guild_ids, ()),
        log_level=_optional(env, "LOG_LEVEL", _log_level, "INFO"),
        image_concurrency=_optional(env, "IMAGE_CONCURRENCY", _bounded(int, 1, 64), 4),
        image_jobs_per_member=_optional(env, "IMAGE_JOBS_PER_MEMBER", _bounded(int, 1, 16), 1),
        progress_edit_interval=_optional(env, "PROGRESS_EDIT_INTERVAL", _bounded(float, 0.0, 60.0), 1.5),
        openai_timeout=_optional(env, "OPENAI_TIMEOUT", _bounded(float, 0.1, 900.0), 120.0),
        openai_max_retries=_optional(env, "OPENAI_MAX_RETRIES", _bounded(int, 0, 10), 2),
        quota_user_daily=_optional(env, "QUOTA_USER_DAILY", _daily_limit, QUOTA_USER_DAILY_DEFAULT),
        quota_guild_daily=_optional(env, "QUOTA_GUILD_DAILY", _daily_limit, None),
        store_prompts=_optional(env, "STORE_PROMPTS", _flag, False),
        moderation_fail_closed=_optional(env, "MODERATION_FAIL_CLOSED", _flag, True),
        moderation_timeout=_optional(env, "MODERATION_TIMEOUT", _bounded(float, 0.1, 120.0), 10.0),
    )


def settings_from_environment() -> Settings:
    """Settings from the process environment after reading ``./.env`` (real environment variables win).

    python-dotenv's default lookup starts at the calling module's folder; the README promises the working directory.
    """
    load_dotenv(Path.cwd() / ".env")
    return load_settings(os.environ)
