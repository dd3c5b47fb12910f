"""The one mapping from exceptions to HTTP answers.

Every handler inherits it from `MLOpsHandler`, so no handler writes its own
try/except. User errors never become a bare 500, and no answer carries a
traceback: unexpected errors are logged with an id the user can quote.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from http.client import responses
from typing import Any

import pydantic
from tornado.web import HTTPError

from ..core.errors import BackendUnavailable, Conflict, InvalidInput, MLOpsError, NotFound

STATUS_BY_ERROR: tuple[tuple[type[MLOpsError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (BackendUnavailable, 503),
    (InvalidInput, 400),
    (MLOpsError, 400),
)


@dataclass
class ErrorAnswer:
    """What the client receives: the status and a JSON body with a message to show."""

    status: int
    code: str
    message: str
    details: Any = None
    expected: bool = True
    error_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"code": self.code, "message": self.message,
                                  "reason": responses.get(self.status, "")}
        if self.details is not None:
            answer["details"] = self.details
        if not self.expected:
            answer["error_id"] = self.error_id
        return answer


def _validation_details(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "(body)",
         "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def answer_for(exc: BaseException) -> ErrorAnswer:
    """Translate any exception a handler let escape."""
    if isinstance(exc, pydantic.ValidationError):
        details = _validation_details(exc)
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return ErrorAnswer(400, "invalid_input", f"Invalid request: {summary}", details)
    if isinstance(exc, MLOpsError):
        for cls, status in STATUS_BY_ERROR:
            if isinstance(exc, cls):
                return ErrorAnswer(status, exc.code, exc.message, exc.details)
    if isinstance(exc, HTTPError):
        message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
        code = {403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error")
        return ErrorAnswer(exc.status_code, code,
                           message or responses.get(exc.status_code, "HTTP error"))
    answer = ErrorAnswer(500, "internal_error", "", expected=False)
    answer.message = (f"Internal error in jupyter-mlops ({type(exc).__name__}); "
                      f"the server log has the details under error id {answer.error_id}.")
    return answer
