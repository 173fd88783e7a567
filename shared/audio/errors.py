"""The error raised when a recording cannot be turned into audio worth transcribing."""

from __future__ import annotations

from shared.errors import CallpipeError, Permanent


class AudioUnusable(Permanent):
    """The recording is empty, corrupt, not audio, or has a channel layout we cannot label: retrying will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"audio unusable: {reason}")
        self.reason = reason

    def __reduce__(self) -> tuple[type[AudioUnusable], tuple[str]]:
        # Raised in a pool process and unpickled in the worker: rebuild from the reason, not the full message.
        return (type(self), (self.reason,))


class PreparationCancelled(CallpipeError):
    """Preparation was stopped from outside (the awaiting task was cancelled); its files have been removed."""
