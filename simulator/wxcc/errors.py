"""Error answers: WXCC's JSON error body (`trackingId`, `error.key`, `error.message[].description`), S3's XML one."""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape

from aiohttp import web


class ApiError(Exception):
    """Raised by a handler to answer with the WXCC error shape."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class S3Error(Exception):
    """Raised by the recording route to answer like S3 does to a presigned URL (XML body)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def wxcc_error_body(status: int, message: str, tracking_id: str) -> dict[str, object]:
    """The JSON body of a WXCC error (see `error-response.json`)."""
    return {"trackingId": tracking_id, "error": {"key": str(status), "message": [{"description": message}]}}


def wxcc_error(status: int, message: str, tracking_id: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """A WXCC error response."""
    return web.json_response(wxcc_error_body(status, message, tracking_id), status=status, headers=headers)


def s3_error(status: int, code: str, message: str, request_id: str) -> web.Response:
    """An S3-style XML error response."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId></Error>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")
