"""Quota policy and storage against a real SQLite file: limits, precedence, atomicity, crash recovery."""

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import InvalidSettingError, QuotaExceededError
from bot.core.quota import (
    DEFAULT,
    RESERVATION_TTL,
    GuildQuotaSettings,
    MemberRef,
    QuotaDefaults,
    QuotaService,
    Reservation,
    parse_limit,
)
from storage.database import open_database
from storage.quota_limits import LimitRow, QuotaLimitsRepository
from storage.usage import UsageRepository
from tests.helpers import Clock

GUILD = 111
ALICE = MemberRef(GUILD, 1, frozenset())
BOB = MemberRef(GUILD, 2, frozenset())
ADMIN = 99


@dataclass
class Bed:
    quota: QuotaService
    clock: Clock
    path: Path


@pytest.fixture
async def bed(tmp_path: Path) -> AsyncIterator[Bed]:
    path = tmp_path / "bot.db"
    clock = Clock(datetime(2026, 11, 21, 15, 30, tzinfo=UTC))
    async with open_database(path) as db:
        yield Bed(
            QuotaService(UsageRepository(db), QuotaLimitsRepository(db), QuotaDefaults(10, None), clock=clock),
            clock,
            path,
        )


async def reserve(quota: QuotaService, member: MemberRef, images: int = 1, prompt: str = "a cat") -> Reservation:
    return await quota.reserve(
        member, channel_id=5, images=images, model="gpt-image-2.5-flare", size="1024x1024", prompt=prompt
    )


async def test_500_concurrent_requests_with_10_left_grant_exactly_10(bed: Bed) -> None:
    outcomes = await asyncio.gather(*(reserve(bed.quota, ALICE) for _ in range(500)), return_exceptions=True)
    granted = [o for o in outcomes if isinstance(o, Reservation)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceededError)]
    assert len(granted) == 10
    assert len(refused) == 490
    assert all(r.scope == "user" and r.remaining == 0 for r in refused)
    assert (await bed.quota.status(ALICE)).user_used == 10


async def test_a_request_bigger_than_what_is_left_is_refused_whole(bed: Bed) -> None:
    await reserve(bed.quota, ALICE, images=4)
    await reserve(bed.quota, ALICE, images=4)
    with pytest.raises(QuotaExceededError) as refused:
        await reserve(bed.quota, ALICE, images=4)
    assert (refused.value.scope, refused.value.limit, refused.value.remaining, refused.value.requested) == (
        "user",
        10,
        2,
        4,
    )
    assert refused.value.resets_at == datetime(2026, 11, 22, tzinfo=UTC)
    await reserve(bed.quota, ALICE, images=2)


async def test_the_server_limit_spans_members(bed: Bed) -> None:
    await bed.quota.set_limit(GUILD, "guild", 0, 3, actor_id=ADMIN)
    await reserve(bed.quota, ALICE, images=2)
    await reserve(bed.quota, BOB, images=1)
    with pytest.raises(QuotaExceededError) as refused:
        await reserve(bed.quota, BOB)
    assert (refused.value.scope, refused.value.remaining) == ("server", 0)
    other_guild = MemberRef(GUILD + 1, BOB.user_id, frozenset())
    await reserve(bed.quota, other_guild)


async def test_released_images_come_back_and_delivered_ones_stay(bed: Bed) -> None:
    first = await reserve(bed.quota, ALICE, images=4)
    second = await reserve(bed.quota, ALICE, images=4)
    await bed.quota.settle(first)
    await bed.quota.release(second, outcome="ProviderTimeoutError")
    assert (await bed.quota.status(ALICE)).user_used == 4
    with sqlite3.connect(bed.path) as raw:
        rows = raw.execute("SELECT state, outcome, images, duration_ms >= 0 FROM generations ORDER BY id").fetchall()
    assert rows == [("delivered", "delivered", 4, 1), ("released", "ProviderTimeoutError", 4, 1)]


async def test_quota_refusals_are_recorded_but_not_counted(bed: Bed) -> None:
    await bed.quota.set_limit(GUILD, "user", ALICE.user_id, 0, actor_id=ADMIN)
    with pytest.raises(QuotaExceededError):
        await reserve(bed.quota, ALICE)
    assert (await bed.quota.status(ALICE)).user_used == 0
    with sqlite3.connect(bed.path) as raw:
        assert raw.execute("SELECT state, outcome FROM generations").fetchall() == [("refused", "quota_user")]


async def test_usage_resets_at_midnight_utc(bed: Bed) -> None:
    for _ in range(10):
        await bed.quota.settle(await reserve(bed.quota, ALICE))
    with pytest.raises(QuotaExceededError):
        await reserve(bed.quota, ALICE)
    bed.clock.now = datetime(2026, 11, 22, 0, 0, 1, tzinfo=UTC)
    status = await bed.quota.status(ALICE)
    assert status.user_used == 0
    assert status.resets_at == datetime(2026, 11, 23, tzinfo=UTC)
    await reserve(bed.quota, ALICE)


async def test_abandoned_reservations_are_released_at_start_up_and_when_expired(bed: Bed) -> None:
    await reserve(bed.quota, ALICE, images=3)
    assert await bed.quota.release_abandoned(at_startup=False) == 0, "not expired yet"
    bed.clock.now += RESERVATION_TTL + timedelta(seconds=1)
    assert await bed.quota.release_abandoned(at_startup=False) == 1
    await reserve(bed.quota, ALICE, images=2)
    assert await bed.quota.release_abandoned(at_startup=True) == 1, "at start-up every open reservation is orphaned"
    assert (await bed.quota.status(ALICE)).user_used == 0


async def test_prompts_are_stored_only_as_hashes_unless_enabled(tmp_path: Path) -> None:
    for store, expected in ((False, None), (True, "a secret prompt")):
        path = tmp_path / f"{store}.db"
        async with open_database(path) as db:
            quota = QuotaService(UsageRepository(db), QuotaLimitsRepository(db), QuotaDefaults(), store_prompts=store)
            await reserve(quota, ALICE, prompt="a secret prompt")
        with sqlite3.connect(path) as raw:
            prompt, prompt_hash = raw.execute("SELECT prompt, prompt_hash FROM generations").fetchone()
        assert prompt == expected
        assert prompt_hash == hashlib.sha256(b"a secret prompt").hexdigest()


async def test_exempt_members_are_never_limited_nor_counted_against_the_server(bed: Bed) -> None:
    staff = MemberRef(GUILD, 3, frozenset({777}))
    await bed.quota.set_limit(GUILD, "guild", 0, 2, actor_id=ADMIN)
    await bed.quota.set_exempt(GUILD, 777, True, actor_id=ADMIN)
    for _ in range(5):
        await reserve(bed.quota, staff, images=4)
    status = await bed.quota.status(staff)
    assert status.exempt
    assert status.user_used == 20
    assert status.guild_used == 0
    await reserve(bed.quota, ALICE, images=2)


async def test_an_admin_reset_forgives_todays_images_and_is_recorded(bed: Bed) -> None:
    for _ in range(3):
        await bed.quota.settle(await reserve(bed.quota, ALICE, images=2))
    assert await bed.quota.reset_today(GUILD, ALICE.user_id, actor_id=ADMIN) == 6
    assert (await bed.quota.status(ALICE)).user_used == 0
    (change,) = await bed.quota.recent_changes(GUILD)
    assert (change.actor_id, change.action, change.target_id) == (ADMIN, "reset usage today", ALICE.user_id)


async def test_a_reset_forgives_images_still_being_delivered_and_they_stay_forgiven(bed: Bed) -> None:
    on_screen = await reserve(bed.quota, ALICE, images=2)  # posted, its delivery not recorded yet
    failing = await reserve(bed.quota, ALICE, images=1)
    assert await bed.quota.reset_today(GUILD, ALICE.user_id, actor_id=ADMIN) == 3
    await bed.quota.settle(on_screen)
    await bed.quota.release(failing, outcome="ProviderUnavailableError")
    assert (await bed.quota.status(ALICE)).user_used == 0, "counted neither when settled nor twice when released"
    await bed.quota.settle(await reserve(bed.quota, ALICE, images=1))
    assert (await bed.quota.status(ALICE)).user_used == 1


async def test_every_limit_change_is_recorded_with_before_and_after(bed: Bed) -> None:
    await bed.quota.set_limit(GUILD, "role", 555, 20, actor_id=ADMIN)
    await bed.quota.set_limit(GUILD, "role", 555, None, actor_id=ADMIN)
    await bed.quota.set_limit(GUILD, "role", 555, DEFAULT, actor_id=ADMIN + 1)
    changes = await bed.quota.recent_changes(GUILD)
    assert [(c.actor_id, c.old_value, c.new_value) for c in changes] == [
        (ADMIN + 1, "unlimited", "default"),
        (ADMIN, "20", "unlimited"),
        (ADMIN, "default", "20"),
    ]
    assert all(c.target_id == 555 for c in changes)
    assert (await bed.quota.settings(GUILD)).role_limits == {}


def settings(**overrides: object) -> GuildQuotaSettings:
    values: dict[str, object] = {
        "guild_limit": 100,
        "user_default": 10,
        "guild_limit_overridden": False,
        "user_default_overridden": False,
        "role_limits": {},
        "user_limits": {},
        "exempt_roles": frozenset(),
    }
    return GuildQuotaSettings(**(values | overrides))  # type: ignore[arg-type]


def test_limit_precedence() -> None:
    config = settings(role_limits={1: 3, 2: 25, 3: None}, user_limits={42: 0}, exempt_roles=frozenset({9}))
    assert config.limits_for(7, frozenset()).user_limit == 10, "the default"
    assert config.limits_for(7, frozenset({1})).user_limit == 3, "a role limit replaces the default, even lower"
    assert config.limits_for(7, frozenset({1, 2})).user_limit == 25, "the most generous role"
    assert config.limits_for(7, frozenset({1, 3})).user_limit is None, "unlimited is the most generous"
    assert config.limits_for(7, frozenset({9, 1})).exempt
    assert config.limits_for(42, frozenset({9, 2})).user_limit == 0, "a member override beats roles and exemptions"
    assert config.limits_for(42, frozenset()).guild_limit == 100


@pytest.mark.parametrize(
    ("raw", "expected"), [("10", 10), (" 0 ", 0), ("Unlimited", None), ("default", DEFAULT), ("1000000", 1_000_000)]
)
def test_admins_type_limits_as_numbers_unlimited_or_default(raw: str, expected: object) -> None:
    assert parse_limit(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "ten", "1.5", "1000001", "", "10 images", "²", "٣"])
def test_anything_else_is_explained(raw: str) -> None:
    with pytest.raises(InvalidSettingError):
        parse_limit(raw)


class GatedReads(QuotaLimitsRepository):
    """Holds every settings read after it has read the rows, so a change can land before the reader finishes."""

    gate: asyncio.Event | None = None
    at_gate: asyncio.Event | None = None  # set when a read is held

    async def overrides(self, guild_id: int) -> list[LimitRow]:
        rows = await super().overrides(guild_id)
        if self.gate is not None:
            if self.at_gate is not None:
                self.at_gate.set()
            await self.gate.wait()
        return rows


async def test_a_settings_read_that_raced_an_admin_change_is_not_cached(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        limits = GatedReads(db)
        quota = QuotaService(UsageRepository(db), limits, QuotaDefaults(10, None))
        limits.gate, limits.at_gate = asyncio.Event(), asyncio.Event()
        reading = asyncio.create_task(quota.settings(GUILD))
        await limits.at_gate.wait()  # the reader has fetched the old rows
        await quota.set_limit(GUILD, "user_default", 0, 3, actor_id=ADMIN)
        limits.gate.set()
        assert (await reading).user_default == 10, "the reader saw the old value..."
        limits.gate = None
        assert (await quota.settings(GUILD)).user_default == 3, "...but did not cache it"


async def test_the_refusal_names_the_limit_that_was_hit(bed: Bed) -> None:
    await bed.quota.set_limit(GUILD, "user", ALICE.user_id, 1, actor_id=ADMIN)
    await reserve(bed.quota, ALICE)
    with pytest.raises(QuotaExceededError) as refused:
        await reserve(bed.quota, ALICE)
    assert (refused.value.scope, refused.value.limit, refused.value.remaining) == ("user", 1, 0)
