"""`callpipe doctor`'s checks: the configuration tested against the live services, one `Check` (ok/warn/fail) each.

Settings (valid, and complete for the roles asked about; unknown `CALLPIPE_*` variables), the AWS resources (through a
verifier passed in: `queues.bootstrap` does it, and `shared` imports nothing above it), a WXCC token through the real
token path (the shared store, one forced refresh so the credentials themselves are tried), one `/search` (or
`/v1/tasks`) over the last hour, and the OpenAI models list. A check that cannot run because an earlier one failed
is `skip`. Printing is the caller's (`cli/doctor.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
import openai

from shared.aws import AwsClients
from shared.config import Settings
from shared.openai_client import openai_client
from shared.resources import DataResources
from shared.startup import ConfigurationError, Problem, Role, check_for, load_settings, unknown_variables
from shared.wxcc.budget import RateBudget
from shared.wxcc.client import WxccClient
from shared.wxcc.errors import WxccAuthError, WxccPermanent, WxccRetryable
from shared.wxcc.tokens import TokenProvider

Status = Literal["ok", "warn", "fail", "skip"]
CHECK_TIMEOUT_S = 45.0
SEARCH_SAMPLE = 50
"""Calls counted by the search check before it stops reading pages (it proves access, it does not inventory)."""


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: Status
    detail: str
    fix: str = ""


class ResourceReport(Protocol):
    """What a resource verifier returns (`queues.bootstrap.BootstrapReport` in verify mode)."""

    @property
    def unchanged(self) -> list[str]: ...

    @property
    def problems(self) -> list[str]: ...


ResourceVerifier = Callable[[Settings], Awaitable[ResourceReport]]

_WXCC_ROLES: frozenset[str] = frozenset({"poll", "fetch", "doctor"})
_OPENAI_ROLES: frozenset[str] = frozenset({"transcribe", "analyze", "doctor"})


def settings_checks(
    environ: Mapping[str, str], role: Role, *, extra_known: Iterable[str] = ()
) -> tuple[Settings | None, list[Check]]:
    """The process's settings (None if invalid) and the checklist lines about them; `environ` is searched for
    unknown `CALLPIPE_*` variables (`extra_known`: names other settings classes read)."""
    checks = [_problem_check("settings", p) for p in unknown_variables(environ, extra_known)]
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        return None, [*checks, *(_problem_check("settings", p) for p in exc.problems)]
    problems = check_for(role, settings)
    checks += [_problem_check("settings", p) for p in problems]
    if not any(p.severity == "error" for p in problems):
        scope = "every role" if role == "doctor" else f"the {role} role"
        checks.insert(0, Check("settings", "ok", f"valid and complete for {scope} (prefix {settings.name_prefix})"))
    return settings, checks


def _problem_check(name: str, problem: Problem) -> Check:
    status: Status = "fail" if problem.severity == "error" else "warn"
    return Check(name, status, f"{problem.variable}: {problem.message}", problem.fix)


async def _bounded(name: str, work: Awaitable[Check]) -> Check:
    try:
        return await asyncio.wait_for(work, timeout=CHECK_TIMEOUT_S)
    except TimeoutError:
        return Check(name, "fail", f"no answer within {CHECK_TIMEOUT_S:.0f} s", "check the endpoint and the network")


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "…"


async def aws_check(settings: Settings, verify: ResourceVerifier) -> tuple[list[Check], bool]:
    """Every queue, DLQ, table and bucket exists as the code expects (one line, or one per problem), and whether
    AWS answered at all."""
    where = settings.aws_endpoint_url or f"AWS {settings.aws_region}"
    quick = settings.model_copy(update={"aws_max_attempts": min(settings.aws_max_attempts, 2)})  # fail fast
    try:
        report = await asyncio.wait_for(verify(quick), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:  # any failure here is the line's answer, not a crash of the doctor
        fix = "check AWS credentials, AWS_REGION and AWS_ENDPOINT_URL"
        return [Check("AWS resources", "fail", f"cannot check them at {where}: {_brief(exc)}", fix)], False
    if report.problems:
        fix = "run `callpipe bootstrap` (local) or `terraform apply` (AWS), with the same CALLPIPE_NAME_PREFIX"
        return [Check("AWS resources", "fail", problem, fix) for problem in report.problems], True
    present = f"{len(report.unchanged)} queues, tables and buckets present at {where}"
    return [Check("AWS resources", "ok", present)], True


def _auth_fix(settings: Settings) -> str:
    if settings.wxcc_auth_mode == "service_app":
        return (
            "check CALLPIPE_WXCC_CLIENT_ID, _CLIENT_SECRET and _APPLICATION_ID, and that the service app is "
            "authorized in CALLPIPE_WXCC_ORG_ID"
        )
    return (
        "check CALLPIPE_WXCC_CLIENT_ID and _CLIENT_SECRET; for a dead refresh token set a fresh "
        "CALLPIPE_WXCC_REFRESH_TOKEN and run `callpipe wxcc reset-token`"
    )


async def _token(settings: Settings, tokens: TokenProvider) -> Check:
    name = "WXCC token"
    try:
        current = await tokens.access_token()
        await tokens.after_unauthorized(current)  # one refresh through the store: the credentials are tried now
    except WxccAuthError as exc:
        return Check(name, "fail", _brief(exc), _auth_fix(settings))
    except WxccRetryable as exc:
        return Check(name, "fail", _brief(exc), "check CALLPIPE_WEBEX_AUTH_BASE_URL and the network")
    except Exception as exc:  # a missing coordination table, refused AWS credentials, …
        return Check(name, "fail", _brief(exc), "see the AWS resources line (the token store is a DynamoDB table)")
    mode = settings.wxcc_auth_mode.replace("_", " ")
    return Check(name, "ok", f"refreshed through the token store ({mode} mode, {settings.webex_auth_base_url})")


async def _find_calls(settings: Settings, client: WxccClient) -> Check:
    now = int(time.time() * 1000)
    start = now - 3_600_000
    search = settings.wxcc_find_calls == "search"
    name = "WXCC /search" if search else "WXCC /v1/tasks"
    calls: AsyncIterator[object] = (
        client.ended_calls(start, now) if search else client.tasks(start, now, page_size=SEARCH_SAMPLE)
    )
    count = 0
    try:
        async for _ in calls:
            count += 1
            if count >= SEARCH_SAMPLE:
                break
    except WxccPermanent as exc:
        return Check(
            name,
            "fail",
            _brief(exc),
            "check CALLPIPE_WXCC_ORG_ID (the org the credentials belong to) and the app's scopes",
        )
    except WxccRetryable as exc:
        return Check(name, "fail", _brief(exc), "check CALLPIPE_WXCC_BASE_URL / CALLPIPE_WXCC_DATACENTER")
    shown = f"≥ {count}" if count >= SEARCH_SAMPLE else str(count)
    return Check(name, "ok", f"{shown} calls in the last hour ({settings.wxcc_api_base})")


async def wxcc_checks(settings: Settings) -> list[Check]:
    """A token through the shared store (forcing one refresh), then one search over the last hour."""
    resources = DataResources(settings.name_prefix)
    quick = settings.model_copy(update={"wxcc_max_attempts": min(settings.wxcc_max_attempts, 2)})
    async with AwsClients(settings).dynamodb() as ddb, httpx.AsyncClient(timeout=settings.wxcc_timeout_s) as http:
        table = resources.coordination_table.name
        tokens = TokenProvider(ddb, table, http, quick)
        token = await _bounded("WXCC token", _token(quick, tokens))
        if token.status != "ok":
            return [token, Check("WXCC /search", "skip", "skipped: no WXCC token")]
        key = settings.wxcc_client_id or settings.wxcc_application_id or "default"
        budget = RateBudget(
            ddb, table, key, per_minute=settings.wxcc_rate_per_minute, window_s=settings.wxcc_rate_window_s
        )
        client = WxccClient(http, tokens, quick, budget=budget)
        return [token, await _bounded("WXCC /search", _find_calls(quick, client))]


async def _models(settings: Settings) -> Check:
    name = "OpenAI models"
    base = settings.openai_base_url or "https://api.openai.com/v1"
    client = openai_client(settings).with_options(max_retries=0, timeout=20)
    wanted = (settings.transcription_model, settings.analysis_model)
    try:
        page = await client.models.list()
    except openai.NotFoundError:
        return Check(name, "warn", f"{base} does not list models (404): the models were not checked", "")
    except openai.AuthenticationError as exc:
        return Check(name, "fail", f"{base} refused the key ({exc.status_code})", "set a valid OPENAI_API_KEY")
    except openai.APIConnectionError as exc:
        return Check(name, "fail", f"cannot reach {base}: {_brief(exc)}", "check OPENAI_BASE_URL and the network")
    except openai.APIStatusError as exc:
        return Check(name, "fail", f"{base} answered {exc.status_code}: {_brief(exc)}", "check OPENAI_BASE_URL")
    finally:
        await client.close()
    listed = {model.id for model in page.data}
    missing = [m for m in wanted if m not in listed]
    if missing:
        return Check(
            name,
            "warn",
            f"{base} lists {len(listed)} models but not {', '.join(missing)}",
            "set CALLPIPE_TRANSCRIPTION_MODEL / CALLPIPE_ANALYSIS_MODEL to models the server serves",
        )
    return Check(name, "ok", f"{' and '.join(dict.fromkeys(wanted))} available at {base}")


async def openai_check(settings: Settings) -> Check:
    """The OpenAI (or compatible) server answers the models list with the configured models."""
    key = settings.openai_api_key
    if not settings.openai_base_url and (key is None or not key.get_secret_value()):
        return Check("OpenAI models", "skip", "skipped: neither OPENAI_API_KEY nor OPENAI_BASE_URL is set")
    return await _bounded("OpenAI models", _models(settings))


async def diagnose(
    environ: Mapping[str, str],
    *,
    verify_resources: ResourceVerifier,
    role: Role = "doctor",
    extra_known: Sequence[str] = (),
) -> list[Check]:
    """Every check that matters for `role` (`doctor`: all of them), in checklist order."""
    settings, checks = settings_checks(environ, role, extra_known=extra_known)
    if settings is None:
        return [*checks, Check("services", "skip", "skipped: the settings are not valid")]
    resources, aws_answered = await aws_check(settings, verify_resources)
    checks += resources
    if role in _WXCC_ROLES:
        if aws_answered:
            checks += await wxcc_checks(settings)
        else:
            checks.append(Check("WXCC token", "skip", "skipped: the token store is a DynamoDB table AWS did not serve"))
            checks.append(Check("WXCC /search", "skip", "skipped: no WXCC token"))
    if role in _OPENAI_ROLES:
        checks.append(await openai_check(settings))
    return checks
