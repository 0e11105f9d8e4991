"""Incremental Server-Sent Events splitter: bytes in, `data:` payloads out."""


class SseSplitter:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Returns the `data` field of every complete event in the bytes seen so far."""
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        out: list[bytes] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            event = buf[start:end]
            start = end + 2
            data = None
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    value = line[5:]
                    if value[:1] == b" ":
                        value = value[1:]
                    data = value if data is None else data + b"\n" + value
            if data is not None:
                out.append(data)
        self._buf = buf[start:]
        return out

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished event (non-empty at end of body means a cut stream)."""
        return self._buf.strip()
