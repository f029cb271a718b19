"""Two languages: every reply key and every command string exists in both, with the same placeholders."""

import asyncio
import re
import string
from unittest import mock

import discord
import pytest
from discord import app_commands

from bot.app.client import EXTENSIONS, ImagineBot
from bot.core.images.catalogue import ModelCatalogue
from bot.discord_ui.locales import en, zh_cn
from bot.discord_ui.texts import CATALOGUES, language_for

FIELDS = string.Formatter()
# Discord's rule for localised command and option names.
NAME = re.compile(r"^[-_\w]{1,32}$")


def placeholders(message: str) -> set[str]:
    return {field for _, field, _, _ in FIELDS.parse(message) if field}


def test_both_catalogues_have_the_same_keys() -> None:
    assert set(en.MESSAGES) == set(zh_cn.MESSAGES)


@pytest.mark.parametrize("key", sorted(en.MESSAGES))
def test_translations_keep_every_placeholder(key: str) -> None:
    assert placeholders(zh_cn.MESSAGES[key]) == placeholders(en.MESSAGES[key])


def test_locales_choose_their_catalogue() -> None:
    assert language_for(discord.Locale.chinese) == "zh-CN"
    assert language_for(discord.Locale.taiwan_chinese) == "en"
    assert language_for(discord.Locale.american_english) == "en"
    assert set(CATALOGUES) == {"en", "zh-CN"}


class Recorder(app_commands.Translator):
    """Collects every string the command tree asks to translate, with where it is used."""

    def __init__(self) -> None:
        self.seen: dict[str, app_commands.TranslationContextLocation] = {}

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if not string.extras.get("verbatim"):  # model names stay as they are
            self.seen[string.message] = context.location
        return None


async def command_strings() -> dict[str, app_commands.TranslationContextLocation]:
    services = mock.MagicMock()
    services.images.catalogue = ModelCatalogue(["gpt-image-2.5-flare", "gpt-image-2"])  # with the model option
    bot = ImagineBot(services)
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    recorder = Recorder()
    for command in bot.tree.get_commands():
        await command.get_translated_payload(bot.tree, recorder)
    return recorder.seen


def test_every_command_string_has_a_chinese_translation() -> None:
    seen = asyncio.run(command_strings())
    assert len(seen) > 100
    assert sorted(set(seen) - set(zh_cn.COMMANDS)) == []
    names = {
        app_commands.TranslationContextLocation.command_name,
        app_commands.TranslationContextLocation.group_name,
        app_commands.TranslationContextLocation.parameter_name,
    }
    for message, location in seen.items():
        if location in names:
            assert NAME.match(zh_cn.COMMANDS[message]), message
