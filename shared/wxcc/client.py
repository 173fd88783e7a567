"""The WXCC API client: finds ended calls, queries captures; every request budgeted, traced, retried, classified.

A 2xx answer is checked against its model before use: unknown fields are ignored, but a body that is not a JSON object
or lacks (or mistypes) a field callpipe needs raises `WxccMalformedResponse` naming the endpoint and the fields.
A captures answer is checked entry by entry: a malformed entry fails only its own task (which is asked for again,
alone, within the request's attempts), and the other tasks of the batch get their captures.

A 429 pauses the shared request budget for its `Retry-After`, so every worker of the deployment slows down, not only
the one that was refused.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from shared.config import Settings
from shared.logging import get_logger
from shared.wxcc.budget import RateBudget
from shared.wxcc.errors import (
    WxccAuthError,
    WxccMalformedResponse,
    WxccPermanent,
    WxccRetryable,
    describe_error,
    json_or_text,
    malformed_body,
    retry_after,
    validation_failure,
)
from shared.wxcc.models import Capture, CapturesEntries, SearchResponse, SearchTask, Task, TaskDetails, TasksPage
from shared.wxcc.tokens import TokenProvider

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

CAPTURES_MAX_IDS = 10
TASKS_MAX_PAGE = 1000
MAX_INLINE_WAIT_S = 30.0  # a longer Retry-After goes back to the queue as a message backoff instead
PAUSE_WITHOUT_RETRY_AFTER_S = 5.0  # how long the shared budget pauses after a 429 that names no Retry-After
CAPTURES_PATH = "/v1/captures/query"
CAPTURES_WHERE = f"POST {CAPTURES_PATH}"

CaptureOutcome = Capture | Exception
"""A task's captures, or the failure that concerns that task alone (or its whole batch)."""

SEARCH_QUERY = (
    "query($from: Long!, $to: Long!, $cursor: String) { taskDetails(from: $from, to: $to, timeComparator: endedTime, "
    "filter: {and: [{channelType: {equals: telephony}}, {isActive: {equals: false}}]}, pagination: {cursor: $cursor}) "
    "{ tasks { id channelType createdTime endedTime captureRequested recordingCount isActive status "
    "owner { id name } queue { id name } } pageInfo { hasNextPage endCursor } } }"
)


def _parse(model: type[M], body: dict[str, Any], where: str) -> M:
    """A 2xx body as `model`; a missing or mistyped field raises `WxccMalformedResponse` naming it."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = validation_failure(where, exc)
        log.warning("wxcc_malformed_response", where=where, fields=list(error.fields[:10]), error=str(error))
        raise error from exc


def _as_is(body: dict[str, Any]) -> dict[str, Any]:
    return body


def _search_details(body: dict[str, Any]) -> TaskDetails:
    """The `taskDetails` of a `/search` answer; GraphQL `errors` (HTTP 200) are a rejected query."""
    errors = body.get("errors")
    if errors:
        listed = errors if isinstance(errors, list) else [errors]
        messages = "; ".join(str(e.get("message", e) if isinstance(e, dict) else e) for e in listed[:3])
        raise WxccPermanent(f"/search query rejected: {messages}")
    return _parse(SearchResponse, body, "POST /search").data.task_details


def _captures_each(body: dict[str, Any], asked: Sequence[str]) -> dict[str, CaptureOutcome]:
    """Each asked task's capture from a captures answer, or the `WxccMalformedResponse` of its own entry.

    An entry that cannot be tied to a task (no usable `taskId`) fails every asked task the answer does not list; a
    task that is listed nowhere, when every entry was fine, is not ready yet (an empty capture)."""
    entries = _parse(CapturesEntries, body, CAPTURES_WHERE).data
    result: dict[str, CaptureOutcome] = {}
    unattributed: WxccMalformedResponse | None = None
    for i, entry in enumerate(entries):
        try:
            capture = Capture.model_validate(entry)
        except ValidationError as exc:
            error = validation_failure(CAPTURES_WHERE, exc, prefix=("data", i))
            task_id = entry.get("taskId") if isinstance(entry, dict) else None
            log.warning("wxcc_malformed_capture", task_id=task_id, fields=list(error.fields[:10]), error=str(error))
            if isinstance(task_id, str) and task_id in asked:
                result[task_id] = error
            else:
                unattributed = unattributed or error
            continue
        result.setdefault(capture.task_id, capture)
    for task_id in asked:
        if task_id not in result:
            result[task_id] = unattributed or Capture(taskId=task_id)
    return result


def _retry_inline(exc: BaseException) -> bool:
    return isinstance(exc, WxccRetryable) and (exc.retry_after is None or exc.retry_after <= MAX_INLINE_WAIT_S)


class _WaitHonouringRetryAfter:
    """Exponential backoff with jitter, never shorter than the server's Retry-After."""

    def __init__(self) -> None:
        self._backoff = wait_random_exponential(multiplier=0.5, max=MAX_INLINE_WAIT_S)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        floor = exc.retry_after if isinstance(exc, WxccRetryable) and exc.retry_after else 0.0
        return max(float(self._backoff(state)), floor)


class WxccClient:
    """Typed access to the WXCC endpoints callpipe needs."""

    def __init__(
        self, http: httpx.AsyncClient, tokens: TokenProvider, settings: Settings, *, budget: RateBudget | None = None
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._settings = settings
        self._budget = budget
        self._base = settings.wxcc_api_base
        self.org_id = settings.wxcc_org_id

    @property
    def settings(self) -> Settings:
        """The settings this client was made with."""
        return self._settings

    # --- finding calls ---------------------------------------------------------------------------------------

    async def ended_calls(self, from_ms: int, to_ms: int) -> AsyncIterator[SearchTask]:
        """Telephony calls that ended in [from_ms, to_ms], through `/search`, following the cursor to the end."""
        cursor: str | None = "NA"
        while True:
            details = await self.request_as(
                _search_details,
                "POST",
                "/search",
                params={"orgId": self.org_id},
                json={"query": SEARCH_QUERY, "variables": {"from": from_ms, "to": to_ms, "cursor": cursor}},
            )
            for task in details.tasks:
                yield task
            if not details.page_info.has_next_page or not details.page_info.end_cursor:
                return
            cursor = details.page_info.end_cursor

    async def tasks(self, from_ms: int, to_ms: int, *, page_size: int = TASKS_MAX_PAGE) -> AsyncIterator[Task]:
        """Telephony tasks created in [from_ms, to_ms) via `GET /v1/tasks`, each once.

        The endpoint has no cursor: page by moving `from` to the last `createdTime` seen (tasks sharing that time may
        straddle pages) and drop ids already yielded.
        """
        page_size = min(page_size, TASKS_MAX_PAGE)
        seen: set[str] = set()
        start = from_ms
        while start < to_ms:
            page = await self.request_as(
                lambda body: _parse(TasksPage, body, "GET /v1/tasks").data,
                "GET",
                "/v1/tasks",
                params={
                    "channelTypes": "telephony",
                    "from": start,
                    "to": to_ms,
                    "pageSize": page_size,
                    "orgId": self.org_id,
                },
            )
            fresh = [t for t in page if t.id not in seen]
            for task in fresh:
                seen.add(task.id)
                yield task
            if len(page) < page_size:
                return
            last = max(t.attributes.created_time for t in page)
            if not fresh or last == start:
                # A full page of one millisecond: step past it rather than loop on it.
                log.warning("wxcc_tasks_page_of_one_instant", created_time=last, page_size=page_size)
                last = start + 1 if last == start else last
            start = last

    # --- captures --------------------------------------------------------------------------------------------

    async def captures(
        self, task_ids: Sequence[str], *, url_expiration_min: int | None = None, include_segments: bool = False
    ) -> dict[str, Capture]:
        """Captures per task id, queried in batches of 10; a task WXCC does not list comes back not ready.

        Raises the first failure of any task (`query_captures` gives each task its own outcome)."""
        outcomes = await self.query_captures(
            task_ids, url_expiration_min=url_expiration_min, include_segments=include_segments
        )
        result: dict[str, Capture] = {}
        for task_id, outcome in outcomes.items():
            if isinstance(outcome, Exception):
                raise outcome
            result[task_id] = outcome
        return result

    async def query_captures(
        self, task_ids: Sequence[str], *, url_expiration_min: int | None = None, include_segments: bool = False
    ) -> dict[str, CaptureOutcome]:
        """Each task's captures or its own failure, queried in batches of 10.

        A failure of a whole request (after its retries) is raised, unless some tasks of its batch already got their
        captures: then the tasks still without one get that failure as their outcome."""
        expiration = url_expiration_min or self._settings.wxcc_url_expiration_min
        result: dict[str, CaptureOutcome] = {}
        unique = list(dict.fromkeys(task_ids))
        for i in range(0, len(unique), CAPTURES_MAX_IDS):
            batch = unique[i : i + CAPTURES_MAX_IDS]
            result.update(await self._captures_batch(batch, expiration, include_segments))
        return result

    async def _captures_batch(
        self, batch: list[str], expiration: int, include_segments: bool
    ) -> dict[str, CaptureOutcome]:
        """One batch; tasks whose entries were malformed are asked for again (only they) within the attempts."""
        result: dict[str, CaptureOutcome] = {}
        pending = batch
        try:
            async for attempt in self._retrying():
                with attempt:
                    query = {
                        "orgId": self.org_id,
                        "taskIds": pending,
                        "urlExpiration": expiration,
                        "includeSegments": include_segments,
                    }
                    body = await self._once("POST", CAPTURES_PATH, params=None, json={"query": query})
                    answer = _captures_each(body, pending)
                    result.update(answer)
                    failed = [(t, o) for t, o in answer.items() if t in pending and isinstance(o, Exception)]
                    pending = [t for t, _ in failed]
                    if failed:
                        raise failed[0][1]
        except Exception as exc:
            if not result:
                raise  # nothing came back: the whole batch failed
            for task_id in pending:
                if not isinstance(result.get(task_id), Exception):
                    result[task_id] = exc
        return result

    # --- the request path ------------------------------------------------------------------------------------

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        """One API call with budget, TrackingId, bounded retries of transient failures, and classified errors."""
        return await self.request_as(_as_is, method, path, params=params, json=json)

    async def request_as(
        self,
        parse: Callable[[dict[str, Any]], T],
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> T:
        """`request`, with `parse` applied to the body inside the retries: a malformed answer is tried again too."""
        async for attempt in self._retrying():
            with attempt:
                return parse(await self._once(method, path, params=params, json=json))
        raise AssertionError("unreachable")  # pragma: no cover

    def _retrying(self) -> AsyncRetrying:
        """Bounded inline attempts of one call: transient failures, with a wait never under the Retry-After."""
        return AsyncRetrying(
            stop=stop_after_attempt(self._settings.wxcc_max_attempts),
            wait=_WaitHonouringRetryAfter(),
            retry=retry_if_exception(_retry_inline),
            reraise=True,
        )

    async def _once(self, method: str, path: str, *, params: dict[str, Any] | None, json: Any) -> dict[str, Any]:
        token = await self._tokens.access_token()
        response = await self._send(method, path, token, params=params, json=json)
        if response.status_code == 401:
            token = await self._tokens.after_unauthorized(token)
            response = await self._send(method, path, token, params=params, json=json)
            if response.status_code == 401:
                tracking, message = describe_error(json_or_text(response))
                raise WxccAuthError(
                    f"WXCC refused a freshly refreshed token: {message}", status=401, tracking_id=tracking
                )
        if response.status_code == 429 and self._budget is not None:
            await self._budget.pause(retry_after(response) or PAUSE_WITHOUT_RETRY_AFTER_S)
        return self._classify(response)

    async def _send(
        self, method: str, path: str, token: str, *, params: dict[str, Any] | None, json: Any
    ) -> httpx.Response:
        if self._budget is not None:
            await self._budget.acquire()
        tracking = f"callpipe_{uuid.uuid4()}"
        try:
            return await self._http.request(
                method,
                f"{self._base}{path}",
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}", "TrackingId": tracking, "Accept": "application/json"},
                timeout=self._settings.wxcc_timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise WxccRetryable(f"{method} {path} timed out", tracking_id=tracking) from exc
        except httpx.TransportError as exc:
            raise WxccRetryable(f"{method} {path} failed: {type(exc).__name__}", tracking_id=tracking) from exc

    def _classify(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        where = f"{response.request.method} {response.request.url.path}"
        if status == 204:  # No Content: what a DELETE answers (the Subscriptions API)
            return {}
        if status < 400:
            malformed = malformed_body(where, response)
            if malformed is not None:
                log.warning("wxcc_malformed_response", where=where, status=status, error=str(malformed))
                raise malformed
            body: dict[str, Any] = response.json()
            return body
        tracking, message = describe_error(json_or_text(response))
        if status == 429 or status >= 500:
            log.warning("wxcc_retryable", status=status, tracking_id=tracking, where=where)
            raise WxccRetryable(
                f"{where} → {status}: {message}", status=status, tracking_id=tracking, retry_after=retry_after(response)
            )
        hint = ""
        if status == 403:
            hint = f" — is CALLPIPE_WXCC_ORG_ID ({self.org_id}) the org these credentials belong to?"
        raise WxccPermanent(f"{where} → {status}: {message}{hint}", status=status, tracking_id=tracking)
