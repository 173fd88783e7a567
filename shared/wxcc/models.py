"""Typed models of the WXCC responses callpipe reads; unknown fields are ignored, quirks are absorbed."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _epoch_ms(value: Any) -> Any:
    """WXCC sends times as integers in the spec and as strings in real responses: accept both."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


EpochMs = Annotated[int, BeforeValidator(_epoch_ms)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Ref(_Model):
    """An id/name pair (agent, queue)."""

    id: str
    name: str | None = None


class TaskAttributes(_Model):
    """`attributes` of a task from `GET /v1/tasks`."""

    owner: Ref | None = None  # missing for IVR-only / abandoned calls
    queue: Ref | None = None
    channel_type: str = Field(alias="channelType")
    status: str
    created_time: EpochMs = Field(alias="createdTime")
    last_updated_time: EpochMs | None = Field(default=None, alias="lastUpdatedTime")
    capture_requested: bool | None = Field(default=None, alias="captureRequested")  # None = not known yet
    origin: str | None = None
    destination: str | None = None
    direction: str | None = None


class Task(_Model):
    """One task (call) from `GET /v1/tasks`."""

    id: str
    attributes: TaskAttributes


class TasksPage(_Model):
    """A `GET /v1/tasks` response (`data` is required: an answer without it is malformed, not "no calls")."""

    data: list[Task]


class SearchTask(_Model):
    """One ended task from the `/search` GraphQL `taskDetails` query."""

    id: str
    channel_type: str | None = Field(default=None, alias="channelType")
    created_time: EpochMs | None = Field(default=None, alias="createdTime")
    ended_time: EpochMs | None = Field(default=None, alias="endedTime")
    capture_requested: bool | None = Field(default=None, alias="captureRequested")
    recording_count: int | None = Field(default=None, alias="recordingCount")
    is_active: bool | None = Field(default=None, alias="isActive")
    status: str | None = None
    owner: Ref | None = None
    queue: Ref | None = None


class PageInfo(_Model):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: str | None = Field(default=None, alias="endCursor")


class TaskDetails(_Model):
    tasks: list[SearchTask]  # required: a page without it would silently lose its calls
    page_info: PageInfo = Field(alias="pageInfo")


class SearchData(_Model):
    task_details: TaskDetails = Field(alias="taskDetails")


class SearchResponse(_Model):
    """A `/search` response for the `taskDetails` query that has no GraphQL `errors`."""

    data: SearchData


class RecordingAttributes(_Model):
    """A recording's file and timing; `file_path` is a presigned URL fetched without auth."""

    file_name: str | None = Field(default=None, alias="fileName")
    file_path: str = Field(alias="filePath")
    start_time: EpochMs | None = Field(default=None, alias="startTime")
    stop_time: EpochMs | None = Field(default=None, alias="stopTime")
    participants: list[str] = Field(default_factory=list)
    channel1: str | None = None
    channel2: str | None = None
    call_type: str = Field(default="main", alias="callType")


class Recording(_Model):
    """One recording (main leg, consult leg, or a segment) of a task."""

    id: str
    segment: bool = False
    attributes: RecordingAttributes

    @property
    def duration_s(self) -> float | None:
        a = self.attributes
        if a.start_time is None or a.stop_time is None:
            return None
        return max(0.0, (a.stop_time - a.start_time) / 1000)


class Capture(_Model):
    """The captures of one task; an empty `recording` list means "not ready (or none) yet", never "done"."""

    task_id: str = Field(alias="taskId")
    recording: list[Recording] = Field(default_factory=list)

    @property
    def ready(self) -> bool:
        return bool(self.recording)


class CapturesResponse(_Model):
    """A captures query response (`data` is required: without it every call would look "not ready" for days)."""

    data: list[Capture]


class CapturesEntries(_Model):
    """A captures query response with its entries unchecked, so that each is validated on its own: one malformed
    entry then fails only its own task (`data` itself is required and must be a list)."""

    data: list[Any]


class TokenResponse(_Model):
    """An OAuth token response; lifetimes always come from here, never from constants."""

    access_token: str
    expires_in: int
    refresh_token: str | None = None
    refresh_token_expires_in: int | None = None
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
