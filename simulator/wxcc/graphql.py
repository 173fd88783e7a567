"""Just enough GraphQL for `POST /search`: the `taskDetails` arguments and the fields selected under `tasks`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Selection = dict[str, "Selection | None"]

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[{}]")


class GraphQLError(Exception):
    """A query the simulator rejects, answered as GraphQL does: HTTP 200 with an `errors` array."""


@dataclass(frozen=True)
class TaskDetailsQuery:
    """The parts of a `taskDetails` query the simulator honours."""

    start_ms: int
    end_ms: int
    cursor: str | None
    comparator: str  # "endedTime" | "createdTime"
    is_active: bool | None  # the isActive filter, None when absent
    selection: Selection


def _strip_arguments(text: str) -> str:
    """Drop every parenthesised argument list, nested or not."""
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _parse_block(tokens: list[str], pos: int) -> tuple[Selection, int]:
    """Parse `{ a b { c } }` starting at the token after `{`; returns the selection and the position after `}`."""
    fields: Selection = {}
    while pos < len(tokens):
        tok = tokens[pos]
        if tok == "}":
            return fields, pos + 1
        if tok == "{":
            raise GraphQLError("Syntax error: unexpected '{'")
        if pos + 1 < len(tokens) and tokens[pos + 1] == "{":
            fields[tok], pos = _parse_block(tokens, pos + 2)
        else:
            fields[tok], pos = None, pos + 1
    raise GraphQLError("Syntax error: unbalanced braces")


def task_selection(query: str) -> Selection:
    """The fields selected under `taskDetails { tasks { ... } }`."""
    tokens = _TOKEN.findall(_strip_arguments(query))
    for i in range(len(tokens) - 1):
        if tokens[i] == "tasks" and tokens[i + 1] == "{":
            return _parse_block(tokens, i + 2)[0]
    raise GraphQLError("Validation error: the query must select taskDetails { tasks { ... } }")


def _arguments(query: str) -> str:
    """The text between the parentheses after `taskDetails`."""
    start = query.find("(", query.find("taskDetails"))
    if start < 0:
        return ""
    depth = 0
    for i in range(start, len(query)):
        depth += {"(": 1, ")": -1}.get(query[i], 0)
        if depth == 0:
            return query[start + 1 : i]
    raise GraphQLError("Syntax error: unbalanced parentheses")


def _argument(arguments: str, name: str, variables: dict[str, Any]) -> Any:
    match = re.search(rf"(?<![$\w]){name}\s*:\s*(\$?\w+|\"[^\"]*\")", arguments)
    if match is None:
        return None
    value = match.group(1)
    if value.startswith("$"):
        return variables.get(value[1:])
    if value.startswith('"'):
        return value[1:-1]
    return int(value) if value.isdigit() else value


def parse_task_details(query: Any, variables: Any) -> TaskDetailsQuery:
    """Read `taskDetails(from, to, timeComparator, filter: {isActive}, pagination: {cursor})` and its selection."""
    if not isinstance(query, str) or "taskDetails" not in query:
        raise GraphQLError("Validation error: only the taskDetails query is supported")
    variables = variables if isinstance(variables, dict) else {}
    args = _arguments(query)
    start, end = _argument(args, "from", variables), _argument(args, "to", variables)
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        raise GraphQLError("Validation error: 'from' and 'to' must be epoch milliseconds (Long)")
    cursor = _argument(args, "cursor", variables)
    comparator = _argument(args, "timeComparator", variables) or "createdTime"
    if comparator not in ("endedTime", "createdTime"):
        raise GraphQLError(f"Validation error: unsupported timeComparator {comparator!r}")
    active = re.search(r"isActive\s*:\s*\{\s*equals\s*:\s*(true|false)\s*\}", args)
    return TaskDetailsQuery(
        start_ms=start,
        end_ms=end,
        cursor=cursor if isinstance(cursor, str) and cursor not in ("", "NA") else None,
        comparator=str(comparator),
        is_active=None if active is None else active.group(1) == "true",
        selection=task_selection(query),
    )


def project(value: dict[str, Any], selection: Selection, type_name: str = "Task") -> dict[str, Any]:
    """Keep only the selected fields of `value` (nested objects too); an unknown field is a validation error."""
    out: dict[str, Any] = {}
    for name, sub in selection.items():
        if name not in value:
            raise GraphQLError(f"Validation error: field '{name}' in type '{type_name}' is undefined")
        field = value[name]
        if sub is not None and isinstance(field, dict):
            out[name] = project(field, sub, name)
        else:
            out[name] = field
    return out
