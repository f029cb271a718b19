"""The /imagine experience under load, through the local test bed, with the real bot as its own process.

The bot (``python -m bot``) runs against the fake Discord and fake OpenAI in this process (their contract checks
off, so only the bot's work is measured), with moderation and the output check on. Timestamps are taken by the
fake Discord: when it sent INTERACTION_CREATE, and when the bot's callback or final result arrived.

    .venv/bin/python -m bench.imagine

Prints:
  1. acknowledgement latency p50/p99 with N simultaneous /imagine, over several bursts after a warm-up one (whose
     p99, with every connection new, is printed too), and the peak RSS of the bot meanwhile;
  2. completed jobs per second over several bursts of N simultaneous jobs with a zero-latency upstream, and the
     bot's CPU time per job meanwhile (steadier than wall-clock figures on a shared machine);
  3. the bot's own overhead per job (end to end minus the fake upstream's latency: from the generation request's
     arrival to its last image going out, as the fake's timer gave it), p50/p99, one job at a time.
"""

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.fakes.discord_server import FakeDiscord, FakeUser, InteractionRecord
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import is_result

REPO = Path(__file__).resolve().parents[1]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@asynccontextmanager
async def bot_against(discord_fake: FakeDiscord, openai_fake: FakeOpenAI, **env: str) -> AsyncIterator[int]:
    """Run ``python -m bot`` against the fakes until the block ends; yields its pid."""
    with tempfile.TemporaryDirectory() as folder:
        environment = os.environ | {
            "PYTHONPATH": str(REPO),
            "DISCORD_TOKEN": discord_fake.token,
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DISCORD_API_BASE_URL": discord_fake.api_base_url,
            "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
            "QUOTA_USER_DAILY": "unlimited",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        with (Path(folder) / "bot.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=folder, env=environment, stdout=log, stderr=log
            )
            try:
                sessions = discord_fake.session_count
                await discord_fake.wait_for(lambda: discord_fake.session_count > sessions, timeout=60)
                yield process.pid
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()


async def burst(discord_fake: FakeDiscord, members: int, first_id: int) -> list[InteractionRecord]:
    """``members`` different members invoke /imagine at once; returns when every result is posted."""
    records = await asyncio.gather(
        *(
            discord_fake.invoke_slash(
                "imagine", {"prompt": f"benchmark picture {i}"}, user=FakeUser(id=first_id + i, name=f"m{i}")
            )
            for i in range(members)
        )
    )
    unfinished = list(records)

    def all_posted() -> bool:
        # Re-checked on every request the fake records: drop finished ones from the end instead of rescanning
        # every record each time, which would load the fake's event loop that the measurement runs on.
        while unfinished and is_result(unfinished[-1].original):
            unfinished.pop()
        return not unfinished

    await discord_fake.wait_for(all_posted, timeout=600)
    return list(records)


def posted_at(discord_fake: FakeDiscord, record: InteractionRecord) -> float:
    """When the final result (not a progress edit) reached Discord."""
    edits = [
        r
        for r in discord_fake.requests
        if r.method == "PATCH" and record.token in r.path and (r.json.get("embeds") or [{}])[0].get("title")
    ]
    return edits[-1].received_at


async def run(members: int, latency: float, sequential: int, concurrency: int, rounds: int) -> None:
    """Measure and print."""
    async with (
        FakeOpenAI(check_contracts=False) as openai_fake,
        FakeDiscord(check_contracts=False) as discord_fake,
        bot_against(discord_fake, openai_fake, IMAGE_CONCURRENCY=str(concurrency)) as pid,
    ):
        openai_fake.latency = latency
        # A first burst warms the bot's connection pools (reported on its own); then `rounds` bursts are measured.
        first = await burst(discord_fake, members, 590000000000000000)
        cold = sorted((r.acked_at or float("inf")) - r.dispatched_at for r in first)
        acks: list[float] = []
        for round_ in range(rounds):
            records = await burst(discord_fake, members, 600000000000000000 + round_ * members)
            acks.extend((r.acked_at or float("inf")) - r.dispatched_at for r in records)
        acks.sort()
        rss = peak_rss_mb(pid)

        openai_fake.latency = 0.0
        started, cpu_before = time.perf_counter(), cpu_seconds(pid)
        for round_ in range(rounds):
            await burst(discord_fake, members, 610000000000000000 + round_ * members)
        jobs_per_second = rounds * members / (time.perf_counter() - started)
        cpu_per_job = (cpu_seconds(pid) - cpu_before) / (rounds * members)

        openai_fake.latency = latency
        overheads, holds = [], []
        for i in range(sequential):
            prompt = f"one at a time {i}"
            record = await discord_fake.invoke_slash(
                "imagine", {"prompt": prompt}, user=FakeUser(id=620000000000000000 + i, name="s")
            )
            await discord_fake.wait_for(lambda r=record: is_result(r.original), timeout=60)
            (generation,) = [r for r in openai_fake.image_requests if r.json.get("prompt") == prompt]
            holds.append(openai_fake.upstream_holds[generation.request_id])
            overheads.append(posted_at(discord_fake, record) - record.dispatched_at - holds[-1])
        overheads.sort()

    print(f"setup:                 IMAGE_CONCURRENCY={concurrency}, moderation and output check on, 2 cores")
    print(f"ack latency, {members} at once, {rounds} bursts after a warm-up (upstream {latency * 1000:.0f} ms):")
    print(f"  p50                  {statistics.median(acks) * 1000:.1f} ms")
    print(f"  p99                  {percentile(acks, 0.99) * 1000:.1f} ms")
    print(f"  max                  {acks[-1] * 1000:.1f} ms")
    print(f"  first burst, p99     {percentile(cold, 0.99) * 1000:.1f} ms (every acknowledgement on a new connection)")
    print(f"  first burst, max     {cold[-1] * 1000:.1f} ms")
    print(f"peak RSS of the bot:   {rss:.0f} MB ({members} jobs in flight)")
    print(f"throughput:            {jobs_per_second:.1f} jobs/s ({rounds} bursts of {members}, zero-latency upstream)")
    print(f"  bot CPU per job      {cpu_per_job * 1000:.1f} ms (all its threads)")
    print(f"bot overhead per job, one at a time ({sequential} jobs, upstream {latency * 1000:.0f} ms):")
    print(f"  p50                  {statistics.median(overheads) * 1000:.1f} ms")
    print(f"  p99                  {percentile(overheads, 0.99) * 1000:.1f} ms")
    print(f"  upstream held, p50   {statistics.median(holds) * 1000:.1f} ms (arrival to last image, in the fake)")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="fake upstream latency in seconds")
    parser.add_argument("--sequential", type=int, default=50, help="jobs for the overhead measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="IMAGE_CONCURRENCY for the bot")
    parser.add_argument("--rounds", type=int, default=3, help="measured bursts for latency and throughput")
    args = parser.parse_args()
    asyncio.run(run(args.members, args.latency, args.sequential, args.concurrency, args.rounds))


if __name__ == "__main__":
    main()
