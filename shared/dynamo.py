"""DynamoDB plumbing shared by the stores: attribute-value conversion and conditional transactions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def to_attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def from_attr(value: Any) -> Any:
    """A DynamoDB attribute value as a Python value."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return inner
    if kind == "N":
        number = float(inner)
        return int(number) if number.is_integer() and "." not in inner else number
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in inner.items()}
    if kind == "L":
        return [from_attr(v) for v in inner]
    raise TypeError(f"unsupported DynamoDB type {kind}")


async def transact(dynamodb: DynamoDBClient, items: Sequence[dict[str, Any]]) -> bool:
    """Run TransactWriteItems; False when a condition failed (nothing was written), other errors raise.

    Each entry is `{"Update": {...}}`, `{"Put": {...}}` or `{"ConditionCheck": {...}}`.
    """
    try:
        await dynamodb.transact_write_items(TransactItems=list(items))  # type: ignore[arg-type]
    except dynamodb.exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if "ConditionalCheckFailed" in reasons and all(r in ("ConditionalCheckFailed", "None", None) for r in reasons):
            return False
        raise
    return True
