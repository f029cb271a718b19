"""Acknowledgement latency of ``/imagine`` with many members at once, through the local test bed.

Starts the real bot as its own process (``python -m bot``) against the fake Discord and fake OpenAI running here
(with their contract checks off, so only the bot's work is measured), sends N simultaneous ``/imagine``
interactions over the gateway, and prints acknowledgement latency (INTERACTION_CREATE sent -> callback received,
both stamped by the fake Discord) and throughput.

    .venv/bin/python -m bench.ack_latency --members 200 --latency 0.05
"""

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.fakes.discord_server import FakeDiscord, FakeUser
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import is_result

REPO = Path(__file__).resolve().parents[1]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``sorted_values`` fall (nearest rank)."""
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


async def run(members: int, upstream_latency: float, concurrency: int) -> None:
    """Drive one burst of ``members`` interactions and print the figures."""
    async with FakeOpenAI(check_contracts=False) as openai_fake, FakeDiscord(check_contracts=False) as discord_fake:
        openai_fake.latency = upstream_latency
        with tempfile.TemporaryDirectory() as folder:
            env = os.environ | {
                "PYTHONPATH": str(REPO),
                "DISCORD_TOKEN": discord_fake.token,
                "OPENAI_API_KEY": "sk-bench",
                "OPENAI_BASE_URL": openai_fake.base_url,
                "DISCORD_API_BASE_URL": discord_fake.api_base_url,
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
                "IMAGE_CONCURRENCY": str(concurrency),
                "LOG_LEVEL": "WARNING",
            }
            with (Path(folder) / "bot.log").open("wb") as log:
                bot = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", cwd=folder, env=env, stdout=log, stderr=log
                )
                try:
                    await discord_fake.wait_for(lambda: discord_fake.session_count >= 1, timeout=60)
                    started = time.perf_counter()
                    records = await asyncio.gather(
                        *(
                            discord_fake.invoke_slash(
                                "imagine",
                                {"prompt": f"benchmark picture {i}"},
                                user=FakeUser(id=600000000000000000 + i, name=f"member{i}"),
                            )
                            for i in range(members)
                        )
                    )
                    await discord_fake.wait_for(lambda: all(is_result(r.original) for r in records), timeout=600)
                    elapsed = time.perf_counter() - started
                finally:
                    bot.send_signal(signal.SIGTERM)
                    await bot.wait()

    acks = sorted((r.acked_at or float("inf")) - r.dispatched_at for r in records)
    print(f"members:              {members} at once, concurrency {concurrency}")
    print(f"upstream latency:     {upstream_latency * 1000:.0f} ms")
    print(f"ack latency p50:      {statistics.median(acks) * 1000:.1f} ms")
    print(f"ack latency p99:      {percentile(acks, 0.99) * 1000:.1f} ms")
    print(f"ack latency max:      {acks[-1] * 1000:.1f} ms")
    print(f"all answered in:      {elapsed:.2f} s ({members / elapsed:.1f} jobs/s)")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="fake upstream latency in seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="IMAGE_CONCURRENCY for the bot")
    args = parser.parse_args()
    asyncio.run(run(args.members, args.latency, args.concurrency))


if __name__ == "__main__":
    main()
