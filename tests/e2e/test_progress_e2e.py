"""End to end: members see their place in line, then partial previews, then the picture; one job waits per member."""

from tests.conftest import StartBot
from tests.fakes.discord_server import FakeDiscord, FakeUser, RecordedRequest
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import imagine, quota_card, wait_for_private_answer, wait_for_result

OTHER = FakeUser(id=456789012345678901, name="other_member")


def edits_of(fake: FakeDiscord, token: str) -> list[RecordedRequest]:
    """The PATCHes of one interaction's original response, in order."""
    return [r for r in fake.requests if r.method == "PATCH" and token in r.path and r.path.endswith("@original")]


def descriptions(edits: list[RecordedRequest]) -> list[str]:
    return [(r.json.get("embeds") or [{}])[0].get("description", "") for r in edits]


async def test_a_waiting_member_sees_their_place_in_line(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="1", PROGRESS_EDIT_INTERVAL="0")
    fake_openai.fail_next(Failure.hang())
    first = await imagine(fake_discord, "the first picture")
    await fake_openai.wait_for_image_requests(1)
    second = await imagine(fake_discord, "the second picture", user=OTHER)
    await fake_discord.wait_for(lambda: "⏳ #1 in line" in descriptions(edits_of(fake_discord, second.token)))
    assert len(fake_openai.image_requests) == 1, "the second job waits for the only slot"

    fake_openai.release_hung()
    await wait_for_private_answer(fake_discord, first)
    await wait_for_result(fake_discord, second)
    shown = descriptions(edits_of(fake_discord, second.token))
    assert shown.index("⏳ #1 in line") < shown.index("🎨 Generating…")


async def test_a_member_with_a_job_waiting_is_told_instead_of_being_queued_twice(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="4", PROGRESS_EDIT_INTERVAL="0")
    fake_openai.fail_next(Failure.hang())
    running = await imagine(fake_discord, "running")
    await fake_openai.wait_for_image_requests(1)
    waiting = await imagine(fake_discord, "waiting: one job at a time per member")
    await fake_discord.wait_for(lambda: "⏳ #1 in line" in descriptions(edits_of(fake_discord, waiting.token)))
    third = await imagine(fake_discord, "a third one")
    assert "already have a picture waiting" in await wait_for_private_answer(fake_discord, third)

    fake_openai.release_hung()
    await wait_for_private_answer(fake_discord, running)
    await wait_for_result(fake_discord, waiting)
    assert len(fake_openai.image_requests) == 2


async def test_partial_previews_are_checked_then_shown_before_the_picture(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(PROGRESS_EDIT_INTERVAL="0")
    record = await imagine(fake_discord, "a lighthouse in a storm")
    await wait_for_result(fake_discord, record)
    assert fake_openai.image_requests[0].json["stream"] is True
    edits = edits_of(fake_discord, record.token)
    previews = [r for r in edits if descriptions([r]) == ["🎨 Almost there…"]]
    assert len(previews) == 1, "the partial image was shown"
    assert all(r.files for r in previews)
    assert len(fake_openai.image_checks) == 2, "the preview and the final picture, each checked before anyone saw it"
    assert edits[-1].json["embeds"][0]["title"] == "Imagined"


async def test_previews_that_fail_the_check_are_never_shown(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(PROGRESS_EDIT_INTERVAL="0")
    fake_openai.flag_images("violence")
    record = await imagine(fake_discord, "an innocent prompt")
    assert "wasn't posted" in await wait_for_private_answer(fake_discord, record)
    assert not [r for r in edits_of(fake_discord, record.token) if r.files]


async def test_models_that_cannot_stream_show_a_plain_waiting_state(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_MODEL="gpt-image-2.6-flare", PROGRESS_EDIT_INTERVAL="0")  # not documented to stream
    record = await imagine(fake_discord, "an old-school lighthouse")
    await wait_for_result(fake_discord, record)
    assert "stream" not in fake_openai.image_requests[0].json
    shown = descriptions(edits_of(fake_discord, record.token))
    assert shown[:-1] == [], "no progress edits: Discord's own 'thinking…' is the waiting state"


async def test_a_wait_shorter_than_the_edit_interval_shows_no_progress_at_all(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="1", PROGRESS_EDIT_INTERVAL="60")  # longer than the whole job
    fake_openai.fail_next(Failure.hang())
    blocker = await imagine(fake_discord, "holds the only slot", user=OTHER)
    await fake_openai.wait_for_image_requests(1)
    record = await imagine(fake_discord, "a quick one")
    await fake_openai.wait_for_moderation_requests(2)  # its prompt was checked: it joins the line next
    fake_openai.release_hung()
    await wait_for_private_answer(fake_discord, blocker)
    await wait_for_result(fake_discord, record)
    shown = descriptions(edits_of(fake_discord, record.token))
    assert shown[:-1] == [], "place in line, 'Generating' and the preview all came before the first edit was due"
    assert len(fake_openai.image_checks) == 1, "the final picture only: a preview never shown is never checked"


async def test_a_job_whose_token_would_expire_while_in_line_is_cancelled_without_charge(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="1", PROGRESS_EDIT_INTERVAL="0")
    fake_openai.fail_next(Failure.hang())
    blocker = await imagine(fake_discord, "holds the only slot", user=OTHER)
    await fake_openai.wait_for_image_requests(1)
    # Its token expires in 62.5 s, and the bot keeps 60 s to answer in: 2.5 s to get a turn, which never comes.
    late = await fake_discord.invoke_slash("imagine", {"prompt": "asked long ago"}, age=14 * 60 - 2.5)

    answer = await wait_for_private_answer(fake_discord, late)
    assert "too busy to make your picture in time" in answer
    assert "Nothing was charged" in answer
    assert "⏳ #1 in line" in descriptions(edits_of(fake_discord, late.token)), "it did wait in line first"
    assert len(fake_openai.image_requests) == 1, "the expired job never reached the provider"
    assert (await quota_card(fake_discord))["You, today"] == "0 of 10 used, **10 left**"

    fake_openai.release_hung()
    await wait_for_private_answer(fake_discord, blocker)
