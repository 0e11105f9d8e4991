"""Vertex errors: `{"error": {"code", "message", "status"}}` (a one-element list on streams)."""

import orjson

from skyrelay.runtime.errors import ContentFiltered, ContextLengthExceeded, ProviderError
from skyrelay.runtime.providers.errors_common import by_status

_CONTEXT_MARKERS = ("exceeds the maximum number of tokens", "input token count", "token limit",
                    "context window", "too many tokens", "prompt is too long")


def error_from(status: int, headers: dict[str, str], body: bytes) -> ProviderError:
    err: dict = {}
    try:
        data = orjson.loads(body) if body else {}
        if isinstance(data, list) and data:
            data = data[0]
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            err = data["error"]
    except orjson.JSONDecodeError:
        pass
    message = str(err.get("message") or body[:200].decode("utf-8", "replace") or f"status {status}")
    grpc_status = str(err.get("status") or "")
    status = int(err.get("code") or status) if str(err.get("code") or "").isdigit() else status
    low = message.lower()
    if status == 400 and any(m in low for m in _CONTEXT_MARKERS):
        return ContextLengthExceeded(message, upstream_status=status)
    if status == 400 and ("safety" in low or "blocked" in low and "prompt" in low):
        return ContentFiltered(message, upstream_status=status)
    return by_status(status, headers, message, upstream_status=status, upstream_grpc_status=grpc_status)
