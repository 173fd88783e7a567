"""Startup checks: a bad environment becomes one line per problem naming the variable and the fix, never a traceback.

`load_settings()` reads `Settings` and turns pydantic's errors into `Problem`s; `check_for(role, settings)` adds the
cross-field checks that matter for the process being started (a poll worker needs the org and the credentials, a fetch
worker talking to an http:// simulator needs plain-http downloads allowed, …); `unknown_variables()` finds misspelt
`CALLPIPE_*` variables, which pydantic-settings would otherwise ignore silently, and suggests the closest known name.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError

from shared.config import Settings

Severity = Literal["error", "warning"]
Role = Literal["api", "journey", "poll", "fetch", "transcribe", "analyze", "echo", "wxcc", "doctor"]
"""What a process is started as: a worker's stage, the API, `journey start`, `wxcc reset-token`, or `doctor` (all)."""

_PREFIX = "CALLPIPE_"
TOOLING_PREFIXES = ("CALLPIPE_TEST_", "CALLPIPE_BENCH_")
"""Variables read by the test suite and the benchmarks, not by `Settings`: never reported as unknown."""

_ORG_ROLES = frozenset({"api", "journey", "poll", "fetch", "doctor"})
_WXCC_ROLES = frozenset({"poll", "fetch", "doctor"})
_OPENAI_ROLES = frozenset({"transcribe", "analyze", "doctor"})
_EXPECTED = {
    "name_prefix": "2-41 lowercase letters, digits or '-', starting with a letter or digit (e.g. acme-callpipe)",
    "wxcc_download_hosts": "host names, .domains or IP addresses, comma-separated (e.g. 127.0.0.1,.amazonaws.com)",
    "webex_auth_base_url": "a URL such as https://webexapis.com",
}
_KIND = {"service_app": "service app", "refresh_token": "integration"}
_FIELD_IN_SETTINGS_ERROR = re.compile(r'field "([a-z0-9_]+)"')


@dataclass(frozen=True)
class Problem:
    """One configuration mistake (or, as a warning, a likely one): the variable, what is wrong, how to fix it."""

    variable: str
    message: str
    fix: str
    severity: Severity = "error"

    def line(self) -> str:
        """The one line an operator reads: `VARIABLE: what is wrong — the fix`."""
        return f"{self.variable}: {self.message} — {self.fix}"


class ConfigurationError(Exception):
    """The environment does not make valid `Settings`; `problems` says why, one entry per variable."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.line() for p in problems))
        self.problems = problems


def env_names(field: str) -> tuple[str, ...]:
    """The environment variables a `Settings` field is read from, the preferred one first."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        names = tuple(c for c in choices if isinstance(c, str) and c.isupper())
        if names:
            return names
    return (f"CALLPIPE_{field.upper()}",)


def env_name(field: str) -> str:
    """The environment variable a `Settings` field is documented under."""
    return env_names(field)[0]


def known_variables() -> frozenset[str]:
    """Every environment variable `Settings` reads."""
    return frozenset(name for field in Settings.model_fields for name in env_names(field))


def _field_of(loc: object) -> str | None:
    if not isinstance(loc, str):
        return None
    if loc in Settings.model_fields:
        return loc
    for field in Settings.model_fields:
        if loc.upper() in env_names(field):
            return field
    return None


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _bounds(info: FieldInfo) -> str:
    parts: list[str] = []
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            parts.append(f"≥ {meta.ge}")
        elif isinstance(meta, annotated_types.Gt):
            parts.append(f"> {meta.gt}")
        elif isinstance(meta, annotated_types.Le):
            parts.append(f"≤ {meta.le}")
        elif isinstance(meta, annotated_types.Lt):
            parts.append(f"< {meta.lt}")
    return " and ".join(parts)


def expected_value(field: str) -> str:
    """What a field's variable must hold, in words (`a whole number ≥ 1 and ≤ 1000`, `one of us1, eu1`, …)."""
    if field in _EXPECTED:
        return _EXPECTED[field]
    info = Settings.model_fields[field]
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(annotation))
    if annotation is bool:
        return "true or false"
    bounds = _bounds(info)
    if annotation is int:
        return f"a whole number {bounds}".rstrip()
    if annotation is float:
        return f"a number {bounds}".rstrip()
    if field.endswith("_url"):
        return "a URL such as https://host or http://127.0.0.1:4566"
    return "a non-empty text value"


def _shown(field: str | None, value: object) -> str:
    if field is not None and _is_secret(Settings.model_fields[field]):
        return "(value hidden)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    """One `Problem` per field pydantic rejected, naming its environment variable and what it must hold."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        field = _field_of(error["loc"][0] if error["loc"] else None)
        variable = env_name(field) if field else ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[0].lower() + message[1:]
        if "input" in error:
            shown = _shown(field, error["input"])
            message = f"{shown} {message}" if error["type"] == "value_error" else f"{shown} is not valid: {message}"
        fix = f"set {variable} to {expected_value(field)}" if field else "fix or remove it"
        problems.append(Problem(variable, message, fix))
    return problems


def problem_from_settings_error(exc: SettingsError) -> Problem:
    """pydantic-settings' "error parsing value for field" (a JSON value that is not JSON) as a `Problem`."""
    match = _FIELD_IN_SETTINGS_ERROR.search(str(exc))
    field = match.group(1) if match and match.group(1) in Settings.model_fields else None
    if field is None:
        return Problem("CALLPIPE_*", f"could not be read: {exc}", "check the CALLPIPE_ variables")
    variable = env_name(field)
    return Problem(variable, "is not valid JSON", f"set {variable} to {expected_value(field)}")


def load_settings(**overrides: Any) -> Settings:
    """`Settings()` from the environment, or `ConfigurationError` with one `Problem` per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(problems_from_validation(exc)) from None
    except SettingsError as exc:
        raise ConfigurationError([problem_from_settings_error(exc)]) from None


def unknown_variables(environ: Mapping[str, str], extra_known: Iterable[str] = ()) -> list[Problem]:
    """A warning for each `CALLPIPE_*` variable nothing reads (a misspelling), with the closest known name."""
    known = sorted(n for n in known_variables() | {k.upper() for k in extra_known} if n.startswith(_PREFIX))
    suffixes = [n.removeprefix(_PREFIX) for n in known]
    problems: list[Problem] = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(_PREFIX) or upper.startswith(TOOLING_PREFIXES) or upper in known:
            continue
        # Compared without the shared prefix, which would make every name look alike.
        close = difflib.get_close_matches(upper.removeprefix(_PREFIX), suffixes, n=1, cutoff=0.7)
        fix = (
            f"did you mean {_PREFIX}{close[0]}?"
            if close
            else "remove it (README.md, Configuration, lists every variable)"
        )
        problems.append(Problem(name, "is not a callpipe setting and is ignored", fix, "warning"))
    return problems


def _decoded_webex_id(value: str) -> str | None:
    """The UUID inside a base64 Webex API id (`Y2lzY29zcGFyazovL…` = `ciscospark://us/ORGANIZATION/<uuid>`)."""
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4), validate=False).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text.rsplit("/", 1)[-1] if text.startswith("ciscospark://") else None


def _org_problems(settings: Settings, role: Role) -> list[Problem]:
    org = settings.wxcc_org_id.strip()
    variable = env_name("wxcc_org_id")
    if not org:
        who = {"api": "creating a journey", "journey": "`journey start`"}.get(role, "every WXCC request")
        return [Problem(variable, f"is not set, and {who} needs the org", f"set {variable} to your WXCC org id (UUID)")]
    uuid = _decoded_webex_id(org) if org.startswith("Y2lzY29zcGFyazovL") else None
    if uuid:
        return [
            Problem(
                variable,
                "is a base64 Webex API id; the WXCC API wants the org's UUID",
                f"set {variable}={uuid}",
                "warning",
            )
        ]
    return []


def _credential_problems(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    mode = settings.wxcc_auth_mode
    client_id, secret, app = (env_name(f) for f in ("wxcc_client_id", "wxcc_client_secret", "wxcc_application_id"))
    if not settings.wxcc_client_id.strip():
        problems.append(Problem(client_id, "is not set", f"set {client_id} to the {_KIND[mode]}'s client id"))
    if settings.wxcc_client_secret is None or not settings.wxcc_client_secret.get_secret_value():
        problems.append(Problem(secret, "is not set", f"set {secret} (from Secrets Manager in AWS)"))
    if mode == "service_app" and not settings.wxcc_application_id.strip():
        problems.append(
            Problem(
                app,
                "is not set, and CALLPIPE_WXCC_AUTH_MODE=service_app (the default) needs it",
                f"set {app} to the service app's id, or CALLPIPE_WXCC_AUTH_MODE=refresh_token "
                "with CALLPIPE_WXCC_REFRESH_TOKEN",
            )
        )
    return problems


def _download_problems(settings: Settings) -> list[Problem]:
    base = settings.wxcc_api_base
    if not base.lower().startswith("http://"):
        return []
    problems: list[Problem] = []
    if not settings.wxcc_download_allow_http:
        variable = env_name("wxcc_download_allow_http")
        problems.append(
            Problem(
                variable,
                f"is false, but CALLPIPE_WXCC_BASE_URL is plain http ({base}): its recordings would be refused",
                f"set {variable}=true (local simulators only)",
            )
        )
    host = base.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]").lower()
    hosts = settings.wxcc_download_hosts
    if not any(h == host or (h.startswith(".") and (host.endswith(h) or host == h[1:])) for h in hosts):
        variable = env_name("wxcc_download_hosts")
        problems.append(
            Problem(
                variable,
                f"does not list {host}, the host of CALLPIPE_WXCC_BASE_URL, where a simulator serves its recordings",
                f"set {variable}={host} (a JSON list or comma-separated)",
                "warning",
            )
        )
    return problems


def _openai_problems(settings: Settings) -> list[Problem]:
    key = settings.openai_api_key
    if settings.openai_base_url or (key is not None and key.get_secret_value()):
        return []
    return [
        Problem(
            "OPENAI_API_KEY",
            "is not set, and OPENAI_BASE_URL does not name another server",
            "set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server)",
        )
    ]


def check_for(role: Role, settings: Settings) -> list[Problem]:
    """The cross-field problems that stop `role` from working (errors) or probably will (warnings)."""
    problems: list[Problem] = []
    if role in _ORG_ROLES:
        problems += _org_problems(settings, role)
    if role in _WXCC_ROLES:
        problems += _credential_problems(settings)
    if role in ("fetch", "doctor"):
        problems += _download_problems(settings)
    if role in _OPENAI_ROLES:
        problems += _openai_problems(settings)
    if role == "wxcc" and not (settings.wxcc_client_id.strip() or settings.wxcc_application_id.strip()):
        variable = env_name("wxcc_client_id")
        problems.append(Problem(variable, "is not set, and it names the stored token", f"set {variable}"))
    return problems
