"""Moderation policy with a real SQLite file and a scripted endpoint: thresholds, strikes, suspensions, appeals."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from bot.core.errors import AppealError, InvalidSettingError, ModerationUnavailableError, SuspendedError
from bot.core.moderation.policy import ModerationService, Verdict
from bot.core.moderation.thresholds import (
    STRICT_THRESHOLDS,
    ModerationScores,
    blocked_categories,
    thresholds_for,
)
from storage.database import open_database
from storage.moderation import ModerationRepository
from tests.helpers import Clock

GUILD, MEMBER, MOD = 10, 20, 30


def scores(flagged: set[str] = frozenset(), **values: float) -> ModerationScores:  # type: ignore[assignment]
    named = {k.replace("__", "/").replace("_", "-"): v for k, v in values.items()}
    return ModerationScores(MappingProxyType(named), frozenset(flagged))


def test_a_higher_threshold_is_more_lenient() -> None:
    result = scores(violence=0.6)
    assert blocked_categories(result, {"violence": 0.5}) == ("violence",)
    assert blocked_categories(result, {"violence": 0.6}) == ("violence",), "reaching the threshold blocks"
    assert blocked_categories(result, {"violence": 0.7}) == ()


def test_without_a_threshold_the_endpoints_flag_decides() -> None:
    assert blocked_categories(scores({"hate"}, hate=0.4), {"hate": None}) == ("hate",)
    assert blocked_categories(scores(set(), hate=0.99), {"hate": None}) == ()


def test_the_strict_profile_applies_outside_age_restricted_channels_only() -> None:
    general = thresholds_for({}, age_restricted=False)
    adult = thresholds_for({}, age_restricted=True)
    assert general["sexual"] == STRICT_THRESHOLDS["sexual"]
    assert adult["sexual"] is None
    assert general["violence"] is None, "categories without a strict default use the endpoint's flag"
    loosened = {"sexual": 0.8}
    assert thresholds_for(loosened, age_restricted=True)["sexual"] == 0.8, "as set in age-restricted channels"
    assert thresholds_for(loosened, age_restricted=False)["sexual"] == STRICT_THRESHOLDS["sexual"], "never looser"
    assert thresholds_for({"sexual": 0.05}, age_restricted=False)["sexual"] == 0.05, "stricter is always allowed"
    assert thresholds_for({"violence": 0.7}, age_restricted=False)["violence"] == 0.7


class ScriptedEndpoint:
    """Stands in for ContentModerator: returns the scores it is given, or fails."""

    def __init__(self) -> None:
        self.result = scores()
        self.down = False

    async def check_text(self, text: str) -> ModerationScores:
        if self.down:
            raise ModerationUnavailableError("down")
        return self.result

    check_image = check_text  # type: ignore[assignment]


@dataclass
class Bed:
    service: ModerationService
    endpoint: ScriptedEndpoint
    clock: Clock
    repository: ModerationRepository


@pytest.fixture
async def bed(tmp_path: Path) -> AsyncIterator[Bed]:
    endpoint = ScriptedEndpoint()
    clock = Clock(datetime(2026, 11, 21, 12, tzinfo=UTC))
    async with open_database(tmp_path / "bot.db") as db:
        repository = ModerationRepository(db)
        service = ModerationService(repository, endpoint, clock=clock)  # type: ignore[arg-type]
        yield Bed(service, endpoint, clock, repository)


async def refuse(bed: Bed, layer: str = "blocklist") -> None:
    await bed.service.refuse(
        guild_id=GUILD,
        channel_id=1,
        user_id=MEMBER,
        verdict=Verdict(layer, ("x",), {"x": 1.0}),  # type: ignore[arg-type]
        prompt="p",
        options={"size": "1024x1024", "quality": None, "count": 1},
    )


async def test_the_endpoint_being_down_fails_closed_by_default(bed: Bed) -> None:
    bed.endpoint.down = True
    with pytest.raises(ModerationUnavailableError):
        await bed.service.check_prompt(GUILD, "a cat", age_restricted=False)


async def test_strikes_outside_the_window_do_not_count(bed: Bed) -> None:
    await bed.service.update_settings(GUILD, strike_limit=2, strike_window_hours=1)
    await refuse(bed)
    bed.clock.now += timedelta(hours=2)
    await refuse(bed)
    await bed.service.ensure_not_suspended(GUILD, MEMBER)
    await refuse(bed)
    with pytest.raises(SuspendedError) as suspended:
        await bed.service.ensure_not_suspended(GUILD, MEMBER)
    assert suspended.value.until == bed.clock.now + timedelta(hours=24)
    bed.clock.now += timedelta(hours=25)
    await bed.service.ensure_not_suspended(GUILD, MEMBER)


async def test_a_burst_of_commands_reads_the_servers_suspensions_once(
    bed: Bed, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = 0
    read = bed.repository.suspensions

    async def counted(guild_id: int, *, now: int) -> dict[int, int]:
        nonlocal reads
        reads += 1
        return await read(guild_id, now=now)

    monkeypatch.setattr(bed.repository, "suspensions", counted)
    await asyncio.gather(*(bed.service.ensure_not_suspended(GUILD, member) for member in range(100, 150)))
    await bed.service.ensure_not_suspended(GUILD, MEMBER)
    assert reads == 1


async def test_a_moderators_suspension_and_its_lifting_apply_at_once(bed: Bed) -> None:
    await bed.service.ensure_not_suspended(GUILD, MEMBER)  # the server's suspensions are known from here on
    until = await bed.service.suspend(GUILD, MEMBER, 2, moderator_id=MOD)
    with pytest.raises(SuspendedError) as suspended:
        await bed.service.ensure_not_suspended(GUILD, MEMBER)
    assert suspended.value.until == until
    await bed.service.ensure_not_suspended(GUILD, MEMBER + 1)
    assert await bed.service.unsuspend(GUILD, MEMBER)
    await bed.service.ensure_not_suspended(GUILD, MEMBER)
    bed.clock.now += timedelta(hours=1)
    await bed.service.suspend(GUILD, MEMBER, 2, moderator_id=MOD)
    bed.clock.now += timedelta(hours=3)
    await bed.service.ensure_not_suspended(GUILD, MEMBER)  # it ended on its own


async def test_a_suspension_holds_even_if_the_refusal_that_caused_it_was_stopped_as_it_committed(
    bed: Bed, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bed.service.update_settings(GUILD, strike_limit=1)
    await bed.service.ensure_not_suspended(GUILD, MEMBER)  # the server's suspensions are known from here on
    record = bed.repository.record_refusal

    async def committed_then_stopped(**kwargs: Any) -> tuple[int, int | None]:
        await record(**kwargs)
        raise asyncio.CancelledError  # as a timeout or shutdown would, while the commit was being awaited

    monkeypatch.setattr(bed.repository, "record_refusal", committed_then_stopped)
    with pytest.raises(asyncio.CancelledError):
        await refuse(bed)
    with pytest.raises(SuspendedError):
        await bed.service.ensure_not_suspended(GUILD, MEMBER)


async def test_concurrent_refusals_at_the_limit_suspend_exactly_once(bed: Bed) -> None:
    await bed.service.update_settings(GUILD, strike_limit=3)
    errors = await asyncio.gather(*(bed.service.refuse(
        guild_id=GUILD, channel_id=1, user_id=MEMBER, verdict=Verdict("endpoint", ("x",), {"x": 1.0}),
        prompt="p", options={},
    ) for _ in range(6)))  # fmt: skip
    assert sum(1 for e in errors if e.suspended_until is not None) == 1, "one suspension, reported once"
    assert len(await bed.service.strikes(GUILD, MEMBER)) == 6


async def test_a_moderators_longer_suspension_is_not_shortened_by_strikes(bed: Bed) -> None:
    await bed.service.update_settings(GUILD, strike_limit=1, suspension_hours=1)
    until = await bed.service.suspend(GUILD, MEMBER, 100, moderator_id=MOD)
    await refuse(bed)
    with pytest.raises(SuspendedError) as suspended:
        await bed.service.ensure_not_suspended(GUILD, MEMBER)
    assert suspended.value.until == until


async def test_an_appeal_is_decided_once_even_by_two_moderators_at_once(bed: Bed) -> None:
    await refuse(bed, "endpoint")
    (refusal,) = await bed.service.strikes(GUILD, MEMBER)
    appeal, _ = await bed.service.open_appeal(refusal.id, user_id=MEMBER, guild_id=GUILD)
    outcomes = await asyncio.gather(
        bed.service.decide_appeal(appeal.id, approve=True, moderator_id=MOD, guild_id=GUILD),
        bed.service.decide_appeal(appeal.id, approve=False, moderator_id=MOD + 1, guild_id=GUILD),
        return_exceptions=True,
    )
    assert sum(isinstance(o, AppealError) and o.reason == "decided" for o in outcomes) == 1
    assert sum(isinstance(o, tuple) for o in outcomes) == 1


async def test_provider_and_output_refusals_cannot_be_appealed(bed: Bed) -> None:
    for layer in ("provider", "output"):
        await refuse(bed, layer)
    for refusal in await bed.service.strikes(GUILD, MEMBER):
        with pytest.raises(AppealError, match="not_appealable"):
            await bed.service.open_appeal(refusal.id, user_id=MEMBER, guild_id=GUILD)


async def test_thresholds_are_validated(bed: Bed) -> None:
    with pytest.raises(InvalidSettingError):
        await bed.service.set_threshold(GUILD, "violence", 1.5)
    with pytest.raises(InvalidSettingError):
        await bed.service.set_threshold(GUILD, "made-up", 0.5)
    await bed.service.set_threshold(GUILD, "violence", 0.4)
    bed.endpoint.result = scores(violence=0.45)
    verdict = await bed.service.check_prompt(GUILD, "a fight", age_restricted=True)
    assert (verdict.layer, verdict.categories, verdict.findings) == ("endpoint", ("violence",), {"violence": 0.45})


async def test_an_approved_appeal_overturns_its_strike_and_the_suspension_it_caused(bed: Bed) -> None:
    await bed.service.update_settings(GUILD, strike_limit=2)
    await refuse(bed, "endpoint")
    await refuse(bed, "endpoint")
    with pytest.raises(SuspendedError):
        await bed.service.ensure_not_suspended(GUILD, MEMBER)
    latest = (await bed.service.strikes(GUILD, MEMBER))[0]
    appeal, _ = await bed.service.open_appeal(latest.id, user_id=MEMBER, guild_id=GUILD)
    await bed.service.decide_appeal(appeal.id, approve=True, moderator_id=MOD, guild_id=GUILD)
    assert [s.id for s in await bed.service.strikes(GUILD, MEMBER)] != [latest.id]
    assert len(await bed.service.strikes(GUILD, MEMBER)) == 1
    await bed.service.ensure_not_suspended(GUILD, MEMBER)


async def test_withheld_pictures_and_approved_runs_are_not_strikes(bed: Bed) -> None:
    await refuse(bed, "output")
    error = await bed.service.refuse(
        guild_id=GUILD, channel_id=1, user_id=MEMBER, verdict=Verdict("provider", ("policy",), {}),
        prompt="p", options={}, approved=True,
    )  # fmt: skip
    assert not error.appealable
    assert await bed.service.strikes(GUILD, MEMBER) == []


async def test_appeals_and_decisions_stay_in_their_own_server(bed: Bed) -> None:
    await refuse(bed, "endpoint")
    (refusal,) = await bed.service.strikes(GUILD, MEMBER)
    with pytest.raises(AppealError, match="not_yours"):
        await bed.service.open_appeal(refusal.id, user_id=MEMBER, guild_id=GUILD + 1)
    appeal, _ = await bed.service.open_appeal(refusal.id, user_id=MEMBER, guild_id=GUILD)
    with pytest.raises(AppealError, match="not_here"):
        await bed.service.decide_appeal(appeal.id, approve=True, moderator_id=MOD, guild_id=GUILD + 1)
