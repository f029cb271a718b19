"""Quota reservations against a real SQLite file: throughput and behaviour under concurrency.

Each task is one member who repeatedly reserves one image and settles it, as a delivered /imagine job does,
through the same QuotaService the bot uses, with both a member and a server limit in force (set high enough never
to refuse, so every reservation runs the full check). Prints reserve+settle pairs per second at each concurrency,
and how many operations raised any error (such as ``database is locked``).

    .venv/bin/python -m bench.quota
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.core.quota import MemberRef, QuotaDefaults, QuotaService
from storage.database import open_database
from storage.quota_limits import QuotaLimitsRepository
from storage.usage import UsageRepository


async def pairs_per_second(path: Path, concurrency: int, pairs: int) -> tuple[float, int]:
    """Run ``pairs`` reserve+settle pairs over ``concurrency`` tasks; returns (pairs/s, errors)."""
    async with open_database(path) as db:
        limits = QuotaDefaults(user_daily=1_000_000, guild_daily=1_000_000)
        quota = QuotaService(UsageRepository(db), QuotaLimitsRepository(db), limits)
        errors = 0
        per_task = max(1, pairs // concurrency)

        async def member(index: int) -> None:
            nonlocal errors
            ref = MemberRef(guild_id=1, user_id=index + 1, role_ids=frozenset())
            for _ in range(per_task):
                try:
                    reservation = await quota.reserve(
                        ref, channel_id=1, images=1, model="gpt-image-2.5-flare", size="1024x1024", prompt="bench"
                    )
                    await quota.settle(reservation)
                except Exception:  # counted, not hidden: any error here is what the benchmark looks for
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(member(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return per_task * concurrency / elapsed, errors


async def run(pairs: int, levels: list[int]) -> None:
    """Print one line per concurrency level."""
    print(f"{'concurrency':>11}  {'pairs':>6}  {'pairs/s':>8}  errors")
    for concurrency in levels:
        with tempfile.TemporaryDirectory() as folder:
            rate, errors = await pairs_per_second(Path(folder) / "bench.db", concurrency, max(pairs, concurrency))
        print(f"{concurrency:>11}  {max(pairs, concurrency):>6}  {rate:>8.0f}  {errors}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5000, help="reserve+settle pairs per concurrency level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 100, 1000])
    args = parser.parse_args()
    asyncio.run(run(args.pairs, args.levels))


if __name__ == "__main__":
    main()
