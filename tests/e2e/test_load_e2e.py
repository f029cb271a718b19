"""Two hundred members invoking /imagine at once: every one acknowledged in time and answered."""

import asyncio
import statistics

from tests.conftest import StartBot
from tests.fakes.discord_server import FakeDiscord, FakeUser, InteractionRecord
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import ACK_DEADLINE_SECONDS, DEFERRED_CHANNEL_MESSAGE, imagine, is_result

MEMBERS = 200


async def test_two_hundred_members_at_once(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="8", LOG_LEVEL="INFO")
    fake_openai.latency = 0.05
    members = [FakeUser(id=500000000000000000 + i, name=f"member{i}") for i in range(MEMBERS)]
    records = await asyncio.gather(
        *(imagine(fake_discord, f"picture number {i}", user=member) for i, member in enumerate(members))
    )
    await fake_discord.wait_for(lambda: all(is_result(r.original) for r in records), timeout=120)

    acks = sorted(r.acked_at - r.dispatched_at for r in records if r.acked_at is not None)
    assert len(acks) == MEMBERS
    assert all(r.callbacks[0].type == DEFERRED_CHANNEL_MESSAGE for r in records)
    assert acks[-1] < ACK_DEADLINE_SECONDS, f"slowest acknowledgement took {acks[-1]:.3f} s"
    assert len(fake_openai.image_requests) == MEMBERS
    assert not any(r.followups for r in records)
    p50 = statistics.median(acks)
    p99 = acks[int(0.99 * (MEMBERS - 1))]
    print(f"ack latency over {MEMBERS} members: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


async def test_no_more_than_the_configured_number_of_requests_are_in_flight(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="2")
    fake_openai.fail_next(Failure.hang(), times=2)
    members = [FakeUser(id=700000000000000000 + i, name=f"member{i}") for i in range(3)]
    records = [await imagine(fake_discord, f"queued {i}", user=member) for i, member in enumerate(members)]
    await fake_openai.wait_for_image_requests(2)
    await fake_discord.wait_for(lambda: all(r.acked_at is not None for r in records))
    await fake_discord.sync_gateway()
    assert len(fake_openai.image_requests) == 2, "the third job must wait for a free slot"

    fake_openai.release_hung()  # the two hung jobs fail; the waiting one gets a slot and succeeds

    def finished(record: InteractionRecord) -> bool:
        return bool(record.followups) or is_result(record.original)

    await fake_discord.wait_for(lambda: all(finished(r) for r in records))
    assert len(fake_openai.image_requests) == 3
    assert sum(1 for r in records if is_result(r.original)) == 1
    assert sum(1 for r in records if r.followups) == 2
