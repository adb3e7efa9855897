"""The operator's errors: what went wrong, said once, mapped to Kopf's retry intent by the handlers.

- `InvalidSpec`: the resource asks for something that cannot be rendered. Retrying cannot help;
  the handlers report it in the Ready condition and an Event, and wait for the next spec change.
- `DependencyNotReady`: something the resource points at (its Platform, a ModelServer) is not
  there yet. Retried after a delay; the condition says what is missing.
- `ApiError`: the Kubernetes API (or Redis) failed in a way that may pass. Retried after a delay.
  `Denied` (an admission webhook said no) and `Forbidden` (RBAC said no) are the two kinds of 403.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of the operator's errors; `reason` is the CamelCase reason of the Ready condition."""

    reason = "Error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidSpec(OperatorError):
    reason = "InvalidSpec"


class DependencyNotReady(OperatorError):
    reason = "DependencyNotReady"


class ApiError(OperatorError):
    reason = "ApiError"

    def __init__(self, message: str, *, status: int = 0, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.status = status


class Denied(ApiError):
    """An admission webhook or policy refused a write (KEDA's refuses a ScaledObject for a
    Deployment another HPA scales): the message is the refusal, retried at the usual pace."""

    reason = "AdmissionDenied"


class Forbidden(ApiError):
    """The operator's RBAC lacks a permission: retried slowly, an administrator must act."""

    reason = "Forbidden"
