"""The uvicorn settings every local server uses (`skyrelay serve` in both of its modes), and the request
header size limit.

    config = uvicorn_config(app, host="127.0.0.1", port=8080, max_header_bytes=65536)
    uvicorn.Server(config).run()

uvloop, httptools, no access log, no `server` header, no proxy-headers middleware. httptools itself
has no header size limit (a 32 MB header was buffered and answered 200), so the protocol below counts
the bytes a request's head takes and answers 431 once they pass `max_header_bytes`, before the app
sees the request; the parser never holds more than the limit plus one read.
"""

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_MAX_HEADER_BYTES = 65536


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing, and uvicorn answers through send_400_response."""


class HeaderLimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a limit on the request line + headers. The limit is read from
    uvicorn's `h11_max_incomplete_event_size` (the same bound uvicorn's h11 protocol applies), so it
    travels with the uvicorn Config into every worker process.

    Two counts: the parsed line and headers, exactly (in the parser callbacks), and the bytes read while a
    head is still incomplete (httptools holds a header until it ends, so this bounds what it buffers)."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._head_limit = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
        self._in_head = True  # the bytes that arrive now belong to a request line or headers
        self._head_bytes = 0  # bytes read while the head was incomplete
        self._parsed = 0  # request line + headers parsed so far
        self._too_large = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._parsed = True, 0, 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def _count(self, n: int) -> None:
        self._parsed += n
        if self._parsed > self._head_limit:
            self._too_large = True
            raise _HeadTooLarge

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_head or self.transport is None or self.transport.is_closing():
            return
        self._head_bytes += len(data)  # a read that ended inside the head counts whole
        if self._head_bytes > self._head_limit:
            self._too_large = True
            self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request the parser gave up on; 431 when it gave up on our limit."""
        if not self._too_large:
            return super().send_400_response(msg)
        if self.cycle is None or self.cycle.response_complete:  # never inside another response's bytes
            body = orjson.dumps({"error": {"code": "request_headers_too_large",
                                           "message": f"request headers over {self._head_limit} bytes"}})
            head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
            head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
            head += [b"content-type: application/json\r\ncontent-length: ", str(len(body)).encode(),
                     b"\r\nconnection: close\r\n\r\n", body]
            self.transport.write(b"".join(head))
        self.transport.close()


def uvicorn_config(app, *, host: str, port: int, log_level: str = "warning",
                   max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES, **kwargs):
    """A uvicorn Config with the settings above; `kwargs` (workers, factory, lifespan, ...) pass through."""
    import uvicorn

    settings = {"loop": "uvloop", "http": HeaderLimitedHttpTools, "lifespan": "on", "access_log": False,
                "backlog": 4096, "server_header": False, "proxy_headers": False,
                "h11_max_incomplete_event_size": max_header_bytes, **kwargs}
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, **settings)
