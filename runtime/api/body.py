"""A request body read from ASGI `receive`, bounded: the declared Content-Length is refused before any
read when it is over the limit, and a body without one stops being read once it passes it. Written once
for the API's endpoints and the Cloud Run worker's raw ASGI app (which must not import Starlette)."""

from skyrelay.runtime.errors import PayloadTooLarge, ValidationFailed


async def read_body(receive, limit: int, content_length: bytes | None) -> bytes:
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise ValidationFailed("content-length: not a number") from None
        if declared > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ValidationFailed("client disconnected")
        body = message.get("body", b"")
        size += len(body)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]
