"""Bedrock errors: `x-amzn-ErrorType` header (or `__type` in the body, or an exception frame)."""

import orjson

from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderError,
    UpstreamAuth,
    UpstreamBadRequest,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from skyrelay.runtime.providers.errors_common import by_status, retry_after

_CONTEXT_MARKERS = ("too long", "too many tokens", "too many input tokens", "exceeds the context",
                    "context window", "context length", "maximum context")


def error_type(raw: str) -> str:
    """`ThrottlingException:http://internal...` or `com.amazon#ThrottlingException` -> `throttlingexception`."""
    raw = raw.split(":", 1)[0]
    return raw.rsplit("#", 1)[-1].lower()


def from_type(kind: str, message: str, status: int, headers: dict[str, str]) -> ProviderError:
    kind = kind.lower()
    low = message.lower()
    if kind == "throttlingexception" or kind == "modelnotreadyexception":
        return UpstreamRateLimited(message, retry_after=retry_after(headers), upstream_type=kind)
    if kind == "serviceunavailableexception":
        return UpstreamOverloaded(message, retry_after=retry_after(headers), upstream_type=kind)
    if kind in ("internalserverexception", "modelstreamerrorexception", "modelerrorexception"):
        return UpstreamServerError(message, upstream_type=kind)
    if kind == "modeltimeoutexception":
        return UpstreamTimeout(message, upstream_type=kind)
    if kind in ("accessdeniedexception", "unrecognizedclientexception", "expiredtokenexception"):
        return UpstreamAuth(message, upstream_type=kind)
    if kind == "validationexception":
        if any(m in low for m in _CONTEXT_MARKERS):
            return ContextLengthExceeded(message, upstream_type=kind)
        if "guardrail" in low or "content filter" in low:
            return ContentFiltered(message, upstream_type=kind)
        return UpstreamBadRequest(message, upstream_type=kind)
    if kind:
        err = by_status(status, headers, message, upstream_type=kind)
        return err
    return by_status(status, headers, message)


def error_from(status: int, headers: dict[str, str], body: bytes) -> ProviderError:
    message, kind = "", error_type(headers.get("x-amzn-errortype", ""))
    try:
        data = orjson.loads(body) if body else {}
        if isinstance(data, dict):
            message = str(data.get("message") or data.get("Message") or "")
            if not kind and data.get("__type"):
                kind = error_type(str(data["__type"]))
    except orjson.JSONDecodeError:
        message = body[:200].decode("utf-8", "replace")
    return from_type(kind, message or f"status {status}", status, headers)
