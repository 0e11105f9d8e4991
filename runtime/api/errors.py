"""Every error answer is `{"error": {"code", "message"}}` with a stable code from runtime/errors.py.

An upstream error's own text (aiohttp's exception, a deployment name, the provider's words) is logged
with a request id and never answered: the client gets the code, a fixed sentence and that request id.
"""

import logging
import os
from itertools import count

import orjson

from skyrelay.runtime.errors import ProviderError, RetryAfterError, SkyrelayError, public_message

log = logging.getLogger("skyrelay.api")
JSON = (b"content-type", b"application/json")


class MethodNotAllowed(SkyrelayError):
    """405, with the `Allow` header HTTP requires (RFC 9110 15.5.6)."""

    status, code = 405, "method_not_allowed"

    def __init__(self, allow: str, message: str = ""):
        super().__init__(message or f"method not allowed; use {allow}")
        self.headers = {"allow": allow}


def error_parts(exc: BaseException) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) for any exception; unknown exceptions become a logged 500."""
    if not isinstance(exc, SkyrelayError):
        log.exception("unhandled error", exc_info=exc)
        return 500, [JSON], b'{"error":{"code":"internal_error","message":"internal error"}}'
    headers = [JSON]
    if isinstance(exc, RetryAfterError) and exc.retry_after is not None:
        headers.append((b"retry-after", str(max(1, int(exc.retry_after + 0.999))).encode()))
    extra = getattr(exc, "headers", None)
    if extra:
        headers.extend((k.encode(), v.encode()) for k, v in extra.items())
    body = orjson.dumps({"error": error_doc(exc)})
    return exc.status, headers, body


_node = os.urandom(3).hex()
_request_ids = count()


def error_doc(exc: SkyrelayError) -> dict:
    """The `error` object of an answer. An upstream error is logged with a new request id, which the
    answer carries so an operator can find the details."""
    if not isinstance(exc, ProviderError):
        return {"code": exc.code, "message": exc.message}
    request_id = f"req_{_node}{next(_request_ids):x}"
    log.warning("%s %s: %s", request_id, exc.code, exc.message)
    return {"code": exc.code, "message": public_message(exc), "request_id": request_id}


async def send_error(send, exc: BaseException) -> int:
    status, headers, body = error_parts(exc)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def send_json(send, status: int, body: bytes, headers: list | None = None) -> None:
    h = [JSON, (b"content-length", str(len(body)).encode())]
    if headers:
        h.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": body})


class Endpoint:
    """A plain `async fn(scope, receive, send)` as a Starlette route app whose errors use the common shape."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    async def __call__(self, scope, receive, send):
        try:
            await self.fn(scope, receive, send)
        except Exception as exc:
            scope.setdefault("state", {})["status"] = await send_error(send, exc)
