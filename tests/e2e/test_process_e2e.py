"""The real ``python -m bot`` process: start-up validation, a full round trip, clean shutdown, secret-free logs."""

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import StartBot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import MEMBER, fields_of, imagine, server_answering, wait_for_ephemeral_reply, wait_for_result

REPO = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 30.0


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The inherited environment minus every bot setting, plus ``extra``."""
    keys = ("DISCORD_", "OPENAI_", "DATABASE_URL", "IMAGE_", "COMMAND_GUILD_IDS", "LOG_LEVEL", "PROVIDER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keys)}
    return env | {"PYTHONPATH": str(REPO)} | extra


async def run_to_exit(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    assert stdout == b""
    return process.returncode or 0, stderr.decode()


async def test_a_missing_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    code, stderr = await run_to_exit(clean_env({"OPENAI_API_KEY": "sk-x"}), tmp_path)
    assert code == 2
    assert stderr.strip().splitlines() == ["Configuration error: DISCORD_TOKEN: is required but not set"]


async def test_a_malformed_setting_in_a_dotenv_file_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc\nOPENAI_API_KEY=sk-x\nIMAGE_CONCURRENCY=lots\n")
    code, stderr = await run_to_exit(clean_env({}), tmp_path)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("Configuration error: IMAGE_CONCURRENCY:")


async def test_a_database_newer_than_the_code_stops_start_up_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA user_version = 999")
    env = clean_env({"DISCORD_TOKEN": "abc", "OPENAI_API_KEY": "sk-x", "DATABASE_URL": f"sqlite:///{database}"})
    code, stderr = await run_to_exit(env, tmp_path)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("Database error: DATABASE_URL: database schema version 999 is newer than this code")


async def test_a_rejected_token_is_named(tmp_path: Path, fake_discord: FakeDiscord, fake_openai: FakeOpenAI) -> None:
    env = clean_env(
        {
            "DISCORD_TOKEN": "not-the-right-token",
            "OPENAI_API_KEY": "sk-x",
            "DISCORD_API_BASE_URL": fake_discord.api_base_url,
            "OPENAI_BASE_URL": fake_openai.base_url,
        }
    )
    code, stderr = await run_to_exit(env, tmp_path)
    assert code == 2
    assert stderr.strip().splitlines()[-1] == "Configuration error: DISCORD_TOKEN: Discord rejected this token"
    assert "not-the-right-token" not in stderr


async def test_the_process_serves_imagine_and_stops_cleanly_on_sigterm(
    tmp_path: Path, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    api_key = "process-test-secret-key"
    env = clean_env(
        {
            "DISCORD_TOKEN": fake_discord.token,
            "OPENAI_API_KEY": api_key,
            "DISCORD_API_BASE_URL": fake_discord.api_base_url,
            "OPENAI_BASE_URL": fake_openai.base_url,
            "LOG_LEVEL": "DEBUG",
        }
    )
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:  # a file, not a pipe: DEBUG output must never block the bot
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=log, stderr=log
        )
        try:
            await fake_discord.wait_for(lambda: fake_discord.session_count >= 1, timeout=PROCESS_TIMEOUT)
            record = await imagine(fake_discord, "a process-level picture")
            await wait_for_result(fake_discord, record)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), PROCESS_TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    output = log_path.read_text()
    assert code == 0, output[-2000:]
    assert "Shutting down" in output
    assert (tmp_path / "data" / "bot.db").exists(), "the default database location is data/bot.db"
    assert fake_discord.token not in output
    assert api_key not in output
    assert record.token not in output, "interaction tokens are credentials for 15 minutes"
    assert "Traceback" not in output


async def test_a_bot_killed_mid_generation_leaves_no_charge_after_restart(
    tmp_path: Path,
    bot_env: dict[str, str],
    start_bot: StartBot,
    fake_discord: FakeDiscord,
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.fail_next(Failure.hang())
    log_path = tmp_path / "killed.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=clean_env(bot_env), stdout=log, stderr=log
        )
        try:
            await fake_discord.wait_for(lambda: fake_discord.session_count >= 1, timeout=PROCESS_TIMEOUT)
            await imagine(fake_discord, "a picture that dies with its process", count=3)
            await fake_openai.wait_for_image_requests(1)  # the reservation is committed before the provider is called
        finally:
            process.kill()
            await process.wait()
    fake_openai.release_hung()
    with sqlite3.connect(tmp_path / "bot.db") as raw:
        assert raw.execute("SELECT state, images FROM generations").fetchall() == [("reserved", 3)]

    await start_bot()
    record = await fake_discord.invoke_slash("quota", {}, user=MEMBER)
    card = fields_of((await wait_for_ephemeral_reply(fake_discord, record)).embeds[0])
    assert card["You, today"] == "0 of 10 used, **10 left**"
    with sqlite3.connect(tmp_path / "bot.db") as raw:
        assert raw.execute("SELECT state, outcome FROM generations").fetchall() == [("released", "abandoned")]


def closed_port() -> int:
    """A local port nothing listens on: bound to learn a free one, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_up_env(fake_discord: FakeDiscord, fake_openai: FakeOpenAI, **overrides: str) -> dict[str, str]:
    return clean_env(
        {
            "DISCORD_TOKEN": fake_discord.token,
            "OPENAI_API_KEY": "sk-the-real-one",
            "DISCORD_API_BASE_URL": fake_discord.api_base_url,
            "OPENAI_BASE_URL": fake_openai.base_url,
            "LOG_LEVEL": "WARNING",
        }
        | overrides
    )


@pytest.mark.parametrize(
    ("models", "retired", "expected"),
    [
        (
            {"IMAGE_MODEL": "gpt-image-1-mini"},
            {"gpt-image-1-mini": "2026-12-01"},
            "Configuration error: IMAGE_MODEL: gpt-image-1-mini was shut down on 2026-12-01; the endpoint's active "
            "image models: gpt-image-2, gpt-image-2-2026-04-21, gpt-image-2.5-flare",
        ),
        (
            {"IMAGE_MODELS": "gpt-image-2.5-flare,gpt-image-1.5"},
            {},
            "Configuration error: IMAGE_MODELS: gpt-image-1.5 is not served by the endpoint; the endpoint's active "
            "image models: gpt-image-2, gpt-image-2-2026-04-21, gpt-image-2.5-flare",
        ),
    ],
)
async def test_a_retired_or_unlisted_model_stops_start_up_with_one_line(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    fake_openai: FakeOpenAI,
    models: dict[str, str],
    retired: dict[str, str],
    expected: str,
) -> None:
    fake_openai.models.update(retired)
    code, stderr = await run_to_exit(start_up_env(fake_discord, fake_openai, **models), tmp_path)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith(expected)
    assert "gpt-image-1-mini" not in line.partition("active image models")[2], "only active ones are suggested"
    assert fake_discord.session_count == 0, "stopped before connecting to Discord"


async def test_a_refused_key_stops_start_up_with_one_line(
    tmp_path: Path, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.accepted_key = "sk-another-one"
    code, stderr = await run_to_exit(start_up_env(fake_discord, fake_openai), tmp_path)
    assert code == 2
    assert stderr.strip().splitlines() == ["Configuration error: OPENAI_API_KEY: the endpoint refused this key (401)"]
    assert "sk-the-real-one" not in stderr


async def test_an_unreachable_openai_endpoint_is_one_line(
    tmp_path: Path, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}/v1"
    code, stderr = await run_to_exit(start_up_env(fake_discord, fake_openai, OPENAI_BASE_URL=endpoint), tmp_path)
    assert code == 1
    assert stderr.strip().splitlines() == [
        f"Start-up error: could not reach the image endpoint at {endpoint} (OPENAI_BASE_URL): connection refused"
    ]


async def test_an_unreachable_discord_is_one_line(
    tmp_path: Path, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    discord_api = f"http://127.0.0.1:{closed_port()}/api/v10"
    env = start_up_env(fake_discord, fake_openai, DISCORD_API_BASE_URL=discord_api)
    code, stderr = await run_to_exit(env, tmp_path)
    assert code == 1
    assert stderr.strip().splitlines()[-1] == (
        f"Start-up error: could not reach Discord at {discord_api} (DISCORD_API_BASE_URL): connection refused"
    )
    assert "Traceback" not in stderr


async def test_a_discord_url_that_is_not_discords_api_is_one_line(
    tmp_path: Path, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    async def not_found(_request: web.Request) -> web.Response:
        return web.json_response({"message": "404: Not Found", "code": 0}, status=404)

    async with server_answering("{tail:.*}", not_found, method="*") as discord_api:
        env = start_up_env(fake_discord, fake_openai, DISCORD_API_BASE_URL=discord_api)
        code, stderr = await run_to_exit(env, tmp_path)
    assert code == 1
    assert stderr.strip().splitlines()[-1] == (
        f"Start-up error: could not reach Discord at {discord_api} (DISCORD_API_BASE_URL): it answered 404"
    )
    assert "Traceback" not in stderr
