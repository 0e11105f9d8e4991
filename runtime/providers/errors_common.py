"""Status-code and Retry-After handling shared by every provider's error mapper."""

from skyrelay.runtime.errors import (
    ProviderError,
    UpstreamAuth,
    UpstreamBadRequest,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)


def retry_after(headers: dict[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms` (Azure/OpenAI) or `retry-after` (seconds)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            raw = headers.get(name.title())
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                continue  # HTTP-date form: ignore, the router falls back to its own backoff
    return None


def by_status(status: int, headers: dict[str, str], message: str, **details) -> ProviderError:
    """The canonical error for a status when nothing more specific was recognised in the body."""
    if status == 429:
        return UpstreamRateLimited(message, retry_after=retry_after(headers), **details)
    if status in (401, 403):
        return UpstreamAuth(message, **details)
    if status in (408, 504):
        return UpstreamTimeout(message, **details)
    if status in (503, 529):
        return UpstreamOverloaded(message, retry_after=retry_after(headers), **details)
    if status >= 500:
        return UpstreamServerError(message, **details)
    if 400 <= status < 500:
        return UpstreamBadRequest(message, **details)
    return UpstreamServerError(message or f"unexpected status {status}", **details)


def lower_headers(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
