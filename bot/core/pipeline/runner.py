"""Running one image job, from moderation and quota reservation to delivery, for /imagine and approved appeals."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.core.errors import BotError, BusyError, PolicyRefusalError, PromptRefusedError
from bot.core.images.catalogue import ImageOptions, ImageRequest
from bot.core.images.encoding import PreparedImage, prepare_for_upload
from bot.core.images.generation import GenerationResult, Generator
from bot.core.images.identity import safety_identifier
from bot.core.moderation.policy import ALLOWED, ModerationService, Verdict
from bot.core.pipeline.queue import FairQueue
from bot.core.pipeline.tracker import JobTracker
from bot.core.quota import MemberRef, QuotaService, Reservation
from storage.moderation import Refusal

log = logging.getLogger(__name__)

# The moderation endpoint takes the pictures as they are: re-encoding them costs more than sending them.
MIME_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


def _file_extension(options: ImageOptions) -> str:
    """The extension of the files a job's request comes back as (previews are in the format it asked for)."""
    file_format = options.output_format or "png"
    return "jpg" if file_format == "jpeg" else file_format


@dataclass(frozen=True)
class Job:
    """One request for pictures, wherever it came from."""

    member: MemberRef
    channel_id: int
    prompt: str
    request: ImageRequest  # what the member chose, kept with a refusal or result
    options: ImageOptions  # the request resolved on its model, as sent
    age_restricted: bool
    upload_limit: int
    deadline_seconds: float
    approved_by: int | None = None  # a moderator who approved this job on appeal
    inputs: tuple[PreparedImage, ...] = ()  # the pictures a remix starts from (kept under request.inputs_id)

    def request_record(self) -> dict[str, object]:
        """The member's choices and the model that served them, as kept with a result or a refusal, so that Reroll
        or an approved appeal asks again on the same model while it is offered."""
        return replace(self.request, model=self.options.model).record()


# Whether a partial preview may be shown; called only when it is about to be.
PreviewCheck = Callable[[], Awaitable[bool]]


class Progress(Protocol):
    """Where a job shows how far it has got (the public placeholder of /imagine; nowhere for approvals)."""

    def queued(self, position: int) -> None: ...
    async def generating(self) -> None: ...
    async def partial(self, preview: bytes, check: PreviewCheck, *, extension: str = "png") -> None: ...
    async def close(self) -> None: ...


class RefusalLog(Protocol):
    """Where moderators learn of a job's refusal (the server's mod-log); never raises."""

    async def refused(
        self, refusal: Refusal, *, output: bool, suspended_until: datetime | None, image: PreparedImage | None
    ) -> None: ...


class SilentProgress:
    """Progress nobody sees."""

    def queued(self, position: int) -> None:
        """Nothing to show."""

    async def generating(self) -> None:
        """Nothing to show."""

    async def partial(self, preview: bytes, check: PreviewCheck, *, extension: str = "png") -> None:
        """Nothing to show, so nothing to check."""

    async def close(self) -> None:
        """Nothing to stop."""


@dataclass(frozen=True)
class Delivery:
    """What a job made, ready to post; ``job_id`` (its generation id) is what buttons on the result carry."""

    result: GenerationResult
    images: list[PreparedImage]
    job_id: int


class ImageJobRunner:
    """Quota, moderation of the prompt's outcome, generation and posting for one job."""

    def __init__(
        self,
        generator: Generator,
        quota: QuotaService,
        moderation: ModerationService,
        queue: FairQueue,
        *,
        safety_salt: bytes,
    ) -> None:
        self.generator = generator
        self._quota = quota
        self._moderation = moderation
        self._queue = queue
        self._salt = safety_salt

    async def run(
        self,
        job: Job,
        post: Callable[[Delivery], Awaitable[None]],
        *,
        jobs: JobTracker,
        refusals: RefusalLog,
        progress: Progress | None = None,
    ) -> None:
        """The whole job as tracked work: moderation (unless a moderator approved it), reservation, delivery, and
        the settlement, during which a shutdown waits but never cuts in (the picture is already posted).
        Refusals are recorded and told to ``refusals``."""
        with jobs.track():
            verdict, refused_input = (ALLOWED, None) if job.approved_by is not None else await self._verdict(job)
            if not verdict.allowed:
                raise await self._record_refusal(job, verdict, refusals, image=refused_input)
            reservation = await self._reserve(job)
            await self._deliver(job, reservation, post, progress or SilentProgress(), refusals)
            jobs.protect()
            await self._settle(reservation)

    async def _verdict(self, job: Job) -> tuple[Verdict, PreparedImage | None]:
        """Suspension (raised at once), then what the moderation layers say about the prompt and then about each
        picture to remix; with a refused picture, that picture (for the mod-log)."""
        guild_id = job.member.guild_id
        await self._moderation.ensure_not_suspended(guild_id, job.member.user_id)
        verdict = await self._moderation.check_prompt(guild_id, job.prompt, age_restricted=job.age_restricted)
        if not verdict.allowed or not job.inputs:
            return verdict, None
        verdicts = await asyncio.gather(
            *(
                self._moderation.check_input(
                    guild_id, number, image.data, MIME_TYPES[image.extension], age_restricted=job.age_restricted
                )
                for number, image in enumerate(job.inputs, 1)
            )
        )
        refused = next(((v, image) for v, image in zip(verdicts, job.inputs, strict=True) if not v.allowed), None)
        return refused or (ALLOWED, None)

    async def _reserve(self, job: Job) -> Reservation:
        """Hold the job's images against the member's and the server's quota."""
        return await self._quota.reserve(
            job.member,
            channel_id=job.channel_id,
            images=job.options.count,
            model=job.options.model,
            size=job.options.size,
            prompt=job.prompt,
            input_images=len(job.inputs),
        )

    async def _deliver(
        self,
        job: Job,
        reservation: Reservation,
        post: Callable[[Delivery], Awaitable[None]],
        progress: Progress,
        refusals: RefusalLog,
    ) -> None:
        """Wait for a turn, generate, check the pictures and ``post`` them, all before the deadline (a job that
        would outlive its interaction is cancelled, even while waiting); on any failure the images go back."""
        try:
            async with asyncio.timeout(max(job.deadline_seconds, 0.0)):
                async with self._queue.slot(job.member.user_id, progress.queued):
                    await progress.generating()
                    delivery = await self._produce(job, progress, reservation.generation_id, refusals)
                await progress.close()
                await post(delivery)
        except TimeoutError as exc:
            await progress.close()
            await self._release(reservation, exc)
            raise BusyError from None
        except BaseException as exc:
            await progress.close()  # no late progress edit may land on the answer that follows
            await self._release(reservation, exc)
            raise

    async def _settle(self, reservation: Reservation) -> None:
        """The pictures were posted: keep the images counted. Never raises: the member already has them."""
        try:
            await self._quota.settle(reservation)
        except Exception:
            log.exception("Could not record the delivery of reservation %s", reservation.generation_id)

    async def _record_refusal(
        self, job: Job, verdict: Verdict, refusals: RefusalLog, *, image: PreparedImage | None = None
    ) -> PromptRefusedError:
        """Record a refusal and tell the moderators; returns the error to raise."""
        error = await self._moderation.refuse(
            guild_id=job.member.guild_id,
            channel_id=job.channel_id,
            user_id=job.member.user_id,
            verdict=verdict,
            prompt=job.prompt,
            options=job.request_record(),
            approved=job.approved_by is not None,
        )
        refusal = await self._moderation.refusal(error.refusal_id or 0)
        if refusal is not None:
            await refusals.refused(
                refusal, output=verdict.layer == "output", suspended_until=error.suspended_until, image=image
            )
        return error

    async def _produce(self, job: Job, progress: Progress, job_id: int, refusals: RefusalLog) -> Delivery:
        async def show_partial(partial: bytes) -> None:
            # A preview is public too: where the server checks pictures, an unchecked one is never shown.
            extension = _file_extension(job.options)
            await progress.partial(partial, lambda: self._output_allowed(job, partial, extension), extension=extension)

        try:
            result = await self.generator.generate(
                job.prompt,
                job.options,
                safety_identifier=safety_identifier(self._salt, job.member.user_id),
                on_partial=show_partial,
                inputs=job.inputs,
            )
        except PolicyRefusalError as exc:
            verdict = Verdict("provider", ("policy",), {"provider": "refused"})
            raise await self._record_refusal(job, verdict, refusals) from exc
        images = await asyncio.gather(*(prepare_for_upload(data, job.upload_limit) for data in result.images))
        verdicts = await asyncio.gather(*(self._check_output(job, image) for image in images))
        for image, verdict in zip(images, verdicts, strict=True):
            if not verdict.allowed:
                raise await self._record_refusal(job, verdict, refusals, image=image)
        return Delivery(result, list(images), job_id)

    async def _check_output(self, job: Job, image: PreparedImage) -> Verdict:
        if not (await self._moderation.settings(job.member.guild_id)).output_check:
            return ALLOWED
        return await self._moderation.check_output(
            job.member.guild_id, image.data, MIME_TYPES[image.extension], age_restricted=job.age_restricted
        )

    async def _output_allowed(self, job: Job, partial: bytes, extension: str) -> bool:
        """Whether a partial preview may be shown: never if the check fails or is unavailable."""
        if not (await self._moderation.settings(job.member.guild_id)).output_check:
            return True
        try:
            verdict = await self._moderation.check_output(
                job.member.guild_id, partial, MIME_TYPES[extension], age_restricted=job.age_restricted
            )
        except BotError:
            return False
        return verdict.allowed

    async def _release(self, reservation: Reservation, cause: BaseException) -> None:
        """Give the images back, without letting a storage error hide the failure itself."""
        try:
            await self._quota.release(reservation, outcome=type(cause).__name__)
        except Exception:
            log.exception("Could not release reservation %s; it expires on its own", reservation.generation_id)
