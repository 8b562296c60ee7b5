"""Errors the web answers with: each has an HTTP status, a message naming the problem and
the fix, and (for validation) the field at fault. None of them carries a traceback."""

from __future__ import annotations

__all__ = ["ApiError", "NotFound", "Invalid", "Unauthorized", "ControlDisabled", "Unavailable"]


class ApiError(Exception):
    """A refusal the client can act on; `status` is its HTTP status."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"error": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class Invalid(ApiError):
    status = 422


class NotFound(ApiError):
    status = 404


class Unauthorized(ApiError):
    status = 401


class ControlDisabled(ApiError):
    """No ALPHA_PANDA_API_TOKEN in the running system: every control action is refused."""

    status = 403


class Unavailable(ApiError):
    """A dependency (NATS, a responder) is away: worth retrying later."""

    status = 503
