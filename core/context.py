"""Per-request context that services read without threading it through every call."""

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
