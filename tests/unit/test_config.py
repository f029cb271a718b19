"""Settings: defaults, parsing, and one clear error naming the bad key."""

from pathlib import Path

import pytest

from bot.app.config import DISCORD_API_DEFAULT, load_settings
from bot.core.errors import ConfigError
from bot.core.images.catalogue import DEFAULT_MODEL

REQUIRED = {"DISCORD_TOKEN": "discord-secret-token", "OPENAI_API_KEY": "sk-secret-key"}


def test_defaults_apply_when_only_required_keys_are_set() -> None:
    settings = load_settings(REQUIRED)
    assert settings.discord_token.reveal() == "discord-secret-token"
    assert settings.openai_api_key.reveal() == "sk-secret-key"
    assert settings.openai_base_url is None
    assert settings.discord_api_base_url == DISCORD_API_DEFAULT
    assert settings.database_path == Path("data/bot.db")
    assert (settings.image_models, settings.image_models_key) == ((DEFAULT_MODEL,), "IMAGE_MODEL")
    assert settings.provider_moderation == "auto"
    assert settings.command_guild_ids == ()
    assert settings.log_level == "INFO"
    assert settings.image_concurrency == 4
    assert (settings.quota_user_daily, settings.quota_guild_daily, settings.store_prompts) == (10, None, False)
    assert (settings.moderation_fail_closed, settings.moderation_timeout) == (True, 10.0)


def test_every_key_is_parsed() -> None:
    settings = load_settings(
        REQUIRED
        | {
            "OPENAI_BASE_URL": "http://127.0.0.1:9999/v1/",
            "DISCORD_API_BASE_URL": "http://proxy.internal:8080/api/v10",
            "DATABASE_URL": "sqlite:////var/lib/bot/bot.db",
            "IMAGE_MODELS": "gpt-image-2.6-flare, gpt-image-2,,gpt-image-2.6-flare",
            "IMAGE_MODEL": "gpt-image-2.6-flare",
            "PROVIDER_MODERATION": "LOW",
            "COMMAND_GUILD_IDS": " 123456789012345678, ,223456789012345678,123456789012345678",
            "LOG_LEVEL": "debug",
            "IMAGE_CONCURRENCY": "8",
            "OPENAI_TIMEOUT": "30.5",
            "OPENAI_MAX_RETRIES": "0",
            "QUOTA_USER_DAILY": "unlimited",
            "QUOTA_GUILD_DAILY": "250",
            "STORE_PROMPTS": "yes",
        }
    )
    assert settings.openai_base_url == "http://127.0.0.1:9999/v1"
    assert settings.discord_api_base_url == "http://proxy.internal:8080/api/v10"
    assert settings.database_path == Path("/var/lib/bot/bot.db")
    assert (settings.image_models, settings.image_models_key) == (
        ("gpt-image-2.6-flare", "gpt-image-2"),
        "IMAGE_MODELS",
    )
    assert settings.provider_moderation == "low"
    assert settings.command_guild_ids == (123456789012345678, 223456789012345678)
    assert settings.log_level == "DEBUG"
    assert (settings.image_concurrency, settings.openai_timeout, settings.openai_max_retries) == (8, 30.5, 0)
    assert (settings.quota_user_daily, settings.quota_guild_daily, settings.store_prompts) == (None, 250, True)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"DISCORD_TOKEN": ""}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "has space"}, "DISCORD_TOKEN"),
        ({"OPENAI_API_KEY": "   "}, "OPENAI_API_KEY"),
        ({"OPENAI_BASE_URL": "api.openai.com/v1"}, "OPENAI_BASE_URL"),
        ({"DISCORD_API_BASE_URL": "ftp://x"}, "DISCORD_API_BASE_URL"),
        ({"DATABASE_URL": "postgres://db/bot"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///"}, "DATABASE_URL"),
        ({"COMMAND_GUILD_IDS": "123,abc"}, "COMMAND_GUILD_IDS"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"IMAGE_CONCURRENCY": "0"}, "IMAGE_CONCURRENCY"),
        ({"IMAGE_CONCURRENCY": "four"}, "IMAGE_CONCURRENCY"),
        ({"OPENAI_TIMEOUT": "-1"}, "OPENAI_TIMEOUT"),
        ({"OPENAI_MAX_RETRIES": "99"}, "OPENAI_MAX_RETRIES"),
        ({"QUOTA_USER_DAILY": "-1"}, "QUOTA_USER_DAILY"),
        ({"QUOTA_GUILD_DAILY": "lots"}, "QUOTA_GUILD_DAILY"),
        ({"STORE_PROMPTS": "maybe"}, "STORE_PROMPTS"),
        ({"MODERATION_FAIL_CLOSED": "sometimes"}, "MODERATION_FAIL_CLOSED"),
        ({"MODERATION_TIMEOUT": "0"}, "MODERATION_TIMEOUT"),
        ({"IMAGE_MODEL": "gpt-image-2, gpt-image-2.5-flare"}, "IMAGE_MODEL"),
        ({"IMAGE_MODELS": " , "}, "IMAGE_MODELS"),
        ({"IMAGE_MODELS": "gpt-image-2, gpt image 2"}, "IMAGE_MODELS"),
        ({"IMAGE_MODELS": "gpt-image-2", "IMAGE_MODEL": "gpt-image-2.5-flare"}, "IMAGE_MODEL"),
        ({"PROVIDER_MODERATION": "off"}, "PROVIDER_MODERATION"),
        ({"IMAGE_MODELS": ",".join(f"model-{n}" for n in range(26))}, "IMAGE_MODELS"),
        ({"IMAGE_MODELS": "m" * 101}, "IMAGE_MODELS"),
    ],
)
def test_bad_values_name_their_key(overrides: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(REQUIRED | overrides)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")
    assert "\n" not in str(caught.value)


def test_secrets_never_show_in_reprs() -> None:
    settings = load_settings(REQUIRED)
    assert "discord-secret-token" not in repr(settings)
    assert "sk-secret-key" not in repr(settings)
    assert "sk-secret-key" not in str(settings.openai_api_key)
