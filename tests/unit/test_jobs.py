"""The job tracker behind graceful shutdown."""

import asyncio

import pytest

from bot.core.errors import ShuttingDownError
from bot.core.pipeline.tracker import JobTracker


async def test_drain_with_nothing_running_returns_at_once() -> None:
    assert await JobTracker().drain(grace=3600) == 0


async def test_new_jobs_are_refused_once_draining() -> None:
    jobs = JobTracker()
    await jobs.drain(grace=0)
    with pytest.raises(ShuttingDownError), jobs.track():
        pass


async def start_endless_job(jobs: JobTracker) -> asyncio.Task[None]:
    """A tracked job that never finishes by itself, already inside ``track()``."""
    started = asyncio.Event()

    async def job() -> None:
        with jobs.track():
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(job())
    await started.wait()
    return task


async def test_jobs_cut_by_drain_end_with_shutting_down_error() -> None:
    jobs = JobTracker()
    task = await start_endless_job(jobs)
    assert await jobs.drain(grace=0) == 1
    assert isinstance(task.exception(), ShuttingDownError)


async def test_jobs_finishing_within_grace_are_left_alone() -> None:
    jobs = JobTracker()
    release = asyncio.Event()

    async def job() -> str:
        with jobs.track():
            await release.wait()
            return "done"

    task = asyncio.create_task(job())
    await asyncio.sleep(0)  # let the job enter track()
    drain = asyncio.create_task(jobs.drain(grace=3600))
    release.set()
    assert await drain == 0
    assert task.result() == "done"


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    task = await start_endless_job(JobTracker())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_protected_job_is_waited_for_but_never_cut() -> None:
    jobs = JobTracker()
    delivered = asyncio.Event()
    release = asyncio.Event()

    async def job() -> str:
        with jobs.track():
            jobs.protect()
            delivered.set()
            await release.wait()  # the settlement, still running at shutdown
            return "settled"

    task = asyncio.create_task(job())
    await delivered.wait()
    drain = asyncio.create_task(jobs.drain(grace=0))
    await asyncio.sleep(0)  # a cooperative yield: the drain starts waiting before the release
    release.set()
    assert await drain == 0
    assert task.result() == "settled"
