"""One HTTP session for all requests of an extraction: timeouts, retries and token renewal.

Retries (tenacity, as dlt's own client uses): 429 and 503 wait what `Retry-After` says; other
5xx, timeouts and dropped connections back off exponentially with full jitter; a request is tried
at most `max_retries + 1` times, then the run fails naming the URL and the last status. A 401
renews the token once and repeats the request. Other 4xx fail at once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass

from dlt.sources.helpers.requests.session import Session
from dlt.sources.helpers.rest_client.redaction import sanitize_url
from requests import PreparedRequest, Response
from requests.exceptions import ChunkedEncodingError, ConnectionError, Timeout
from tenacity import (
    RetryCallState,
    Retrying,
    retry_any,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_random_exponential,
)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUS = frozenset({429, 503})
RETRY_EXCEPTIONS = (ConnectionError, Timeout, ChunkedEncodingError)
MAX_RETRY_AFTER_SECONDS = 300.0  # a longer Retry-After fails the run rather than idling in it

log = logging.getLogger(__name__)


class RequestFailed(RuntimeError):
    """A request that failed for good: the message names method, URL and status, no secrets."""


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    token_renewals: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 60.0


def retry_after_seconds(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() or value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _describe(request: PreparedRequest) -> str:
    return f"{request.method} {sanitize_url(request.url or '')}"


class RetryingSession(Session):
    """dlt's requests session (default timeout) whose `send` retries and renews tokens."""

    def __init__(
        self,
        policy: RetryPolicy,
        stats: RequestStats | None = None,
        renew_token: Callable[[PreparedRequest], None] | None = None,
        logger: logging.Logger | None = None,
        fail_on_client_error: bool = True,
    ) -> None:
        super().__init__(timeout=policy.timeout_seconds, raise_for_status=False)
        self.fail_on_client_error = fail_on_client_error  # off: the caller reads the 4xx body
        self.policy = policy
        self.stats = stats or RequestStats()
        self.renew_token = renew_token
        self.log = logger or log
        self._backoff = wait_random_exponential(
            multiplier=policy.backoff_seconds, max=policy.max_backoff_seconds
        )

    def send(self, request: PreparedRequest, **kwargs) -> Response:  # type: ignore[override]
        retrying = Retrying(
            retry=retry_any(
                retry_if_exception_type(RETRY_EXCEPTIONS),
                retry_if_result(lambda r: r.status_code in RETRY_STATUS),
            ),
            wait=self._wait,
            stop=stop_after_attempt(self.policy.max_retries + 1),
            before_sleep=self._before_sleep,
            retry_error_callback=self._give_up,
        )
        return retrying(self._send_once, request, **kwargs)

    def _send_once(self, request: PreparedRequest, **kwargs) -> Response:
        self.stats.requests += 1
        response = super().send(request, **kwargs)
        if response.status_code == 401 and self.renew_token is not None:
            # an expired or revoked token: renew it once and repeat this request
            self.stats.token_renewals += 1
            self.log.info(f"{_describe(request)}: HTTP 401, renewing the access token")
            self.renew_token(request)
            self.stats.requests += 1
            response = super().send(request, **kwargs)
        if (
            self.fail_on_client_error
            and response.status_code >= 400
            and response.status_code not in RETRY_STATUS
        ):
            raise RequestFailed(
                f"{_describe(request)} failed: HTTP {response.status_code} "
                f"{response.reason}: {response.text[:300]}"
            )
        return response

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            response: Response = outcome.result()
            if response.status_code in RETRY_AFTER_STATUS:
                seconds = retry_after_seconds(response)
                if seconds is not None:
                    return min(seconds, MAX_RETRY_AFTER_SECONDS)
        return self._backoff(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        request: PreparedRequest = state.args[0]
        outcome = state.outcome
        why = (
            f"{type(outcome.exception()).__name__}"
            if outcome is not None and outcome.failed
            else f"HTTP {outcome.result().status_code}"
        )
        wait = state.next_action.sleep if state.next_action else 0.0
        self.log.warning(
            f"{_describe(request)}: {why}, retry {state.attempt_number}/"
            f"{self.policy.max_retries} in {wait:.1f}s"
        )

    def _give_up(self, state: RetryCallState) -> Response:
        request: PreparedRequest = state.args[0]
        outcome = state.outcome
        if outcome is not None and outcome.failed:
            exc = outcome.exception()
            raise RequestFailed(
                f"{_describe(request)} failed after {state.attempt_number} attempts: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        response: Response = outcome.result()
        raise RequestFailed(
            f"{_describe(request)} failed after {state.attempt_number} attempts: "
            f"HTTP {response.status_code} {response.reason}"
        )
