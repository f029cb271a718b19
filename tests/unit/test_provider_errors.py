"""Provider failures map to our errors by exception class and ``.code``, using real ``openai`` exceptions."""

import socket

import httpx2
import openai
import pytest

from bot.core.errors import (
    BillingExhaustedError,
    GenerationError,
    ImageRetrievalError,
    ModelGoneError,
    NotConfiguredError,
    PolicyRefusalError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from bot.discord_ui.texts import error_text
from bot.providers.generator import RetryPolicy, translate_provider_error

URL = "http://127.0.0.1:1/v1/images/generations"


def status_error(
    cls: type[openai.APIStatusError], status: int, code: str | None, **headers: str
) -> openai.APIStatusError:
    request = httpx2.Request("POST", URL)
    response = httpx2.Response(status, request=request, headers={"x-request-id": "req_123", **headers})
    # The message deliberately contradicts the code: mapping must never read message text.
    return cls("content_policy_violation insufficient_quota", response=response, body={"code": code, "message": "m"})


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (status_error(openai.RateLimitError, 429, "rate_limit_exceeded"), RateLimitedError),
        (status_error(openai.RateLimitError, 429, "insufficient_quota"), BillingExhaustedError),
        (status_error(openai.BadRequestError, 400, "moderation_blocked"), PolicyRefusalError),
        (status_error(openai.BadRequestError, 400, "content_policy_violation"), PolicyRefusalError),
        (status_error(openai.BadRequestError, 400, "invalid_value"), ProviderRejectedError),
        (status_error(openai.AuthenticationError, 401, "invalid_api_key"), NotConfiguredError),
        (status_error(openai.PermissionDeniedError, 403, None), NotConfiguredError),
        (status_error(openai.NotFoundError, 404, "model_not_found"), ModelGoneError),
        (status_error(openai.NotFoundError, 404, None), NotConfiguredError),
        (status_error(openai.InternalServerError, 503, None), ProviderUnavailableError),
        (status_error(openai.UnprocessableEntityError, 422, None), ProviderRejectedError),
    ],
)
def test_status_errors_map_by_class_and_code(exc: openai.APIStatusError, expected: type[GenerationError]) -> None:
    error = translate_provider_error(exc)
    assert type(error) is expected
    assert error.request_id == "req_123"
    assert "content_policy_violation insufficient_quota" not in error_text(error)


def test_timeouts_and_connection_failures_are_told_apart() -> None:
    request = httpx2.Request("POST", URL)
    assert isinstance(translate_provider_error(openai.APITimeoutError(request)), ProviderTimeoutError)
    assert isinstance(translate_provider_error(openai.APIConnectionError(request=request)), ProviderUnavailableError)


def test_invalid_response_shapes_are_retrieval_errors() -> None:
    request = httpx2.Request("POST", URL)
    response = httpx2.Response(200, request=request)
    assert isinstance(translate_provider_error(openai.APIResponseValidationError(response, None)), ImageRetrievalError)


def test_rate_limits_carry_retry_after_into_the_member_text() -> None:
    error = translate_provider_error(
        status_error(openai.RateLimitError, 429, "rate_limit_exceeded", **{"retry-after": "20"})
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 20
    assert "20 seconds" in error_text(error)


def test_each_failure_has_its_own_wording() -> None:
    kinds = [
        RateLimitedError(),
        BillingExhaustedError(),
        ProviderTimeoutError(),
        PolicyRefusalError(),
        NotConfiguredError(),
        ProviderUnavailableError(),
        ProviderRejectedError(),
        ImageRetrievalError(),
    ]
    texts = [error_text(kind) for kind in kinds]
    assert len(set(texts)) == len(texts)
    assert all(0 < len(t) <= 2000 for t in texts)


def test_only_transient_failures_are_retried() -> None:
    policy = RetryPolicy(max_retries=2)
    for transient in (RateLimitedError(), ProviderTimeoutError(), ProviderUnavailableError()):
        first = policy.delay(1, transient)
        assert first is not None
        assert 0.375 <= first <= 0.5
        assert policy.delay(2, transient) is not None
        assert policy.delay(3, transient) is None, "at most max_retries retries"
    for final in (BillingExhaustedError(), PolicyRefusalError(), NotConfiguredError(), ProviderRejectedError()):
        assert policy.delay(1, final) is None


def test_the_provider_requested_delay_is_honoured_up_to_a_cap() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_after=60)
    assert policy.delay(1, RateLimitedError(retry_after=0.25)) == 0.25
    assert policy.delay(1, ProviderUnavailableError(retry_after=2)) == 2
    assert policy.delay(1, RateLimitedError(retry_after=3600)) is None, "a day-long wait is not worth holding a job"


def test_retry_after_milliseconds_win_over_seconds() -> None:
    error = translate_provider_error(
        status_error(openai.RateLimitError, 429, "rate_limit_exceeded", **{"retry-after": "5", "retry-after-ms": "250"})
    )
    assert error.retry_after == 0.25


async def test_a_refused_connection_is_unavailable_not_slow() -> None:
    with socket.socket() as unused:  # a port nothing listens on once closed
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key="sk-test",
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(),
    )
    async with client:
        with pytest.raises(openai.OpenAIError) as raised:
            await client.images.generate(model="gpt-image-2.5-flare", prompt="a lighthouse", timeout=5)
    error = translate_provider_error(raised.value)
    assert isinstance(error, ProviderUnavailableError), f"{type(raised.value).__name__} became {type(error).__name__}"
