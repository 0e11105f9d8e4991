"""Decoder for `application/vnd.amazon.eventstream` frames (Bedrock ConverseStream).

Frame: total_len u32 | headers_len u32 | prelude CRC32 | headers | payload | message CRC32,
all big-endian; both CRCs are checked.
"""

import struct
import zlib

from skyrelay.runtime.errors import UpstreamServerError

_PRELUDE = struct.Struct(">III")
_MAX_FRAME = 16 * 1024 * 1024
# header value type -> fixed size (None = 2-byte length prefix)
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


class Frame:
    __slots__ = ("headers", "payload")

    def __init__(self, headers: dict[str, object], payload: bytes) -> None:
        self.headers = headers
        self.payload = payload


def _headers(raw: bytes) -> dict[str, object]:
    out: dict[str, object] = {}
    i, n = 0, len(raw)
    while i < n:
        name_len = raw[i]
        name = raw[i + 1:i + 1 + name_len].decode()
        i += 1 + name_len
        kind = raw[i]
        i += 1
        if kind in (6, 7):
            (size,) = struct.unpack_from(">H", raw, i)
            value = raw[i + 2:i + 2 + size]
            out[name] = value.decode() if kind == 7 else value
            i += 2 + size
        elif kind in _FIXED:
            size = _FIXED[kind]
            out[name] = True if kind == 0 else False if kind == 1 else raw[i:i + size]
            i += size
        else:
            raise UpstreamServerError(f"eventstream: unknown header type {kind}")
    return out


class EventStreamDecoder:
    """Frames decoded before a corrupt one are returned; the error is raised by the next `feed`."""

    __slots__ = ("_buf", "_error")

    def __init__(self) -> None:
        self._buf = b""
        self._error: UpstreamServerError | None = None

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._error is not None:
            raise self._error
        frames: list[Frame] = []
        try:
            self._feed(chunk, frames)
        except UpstreamServerError as exc:
            if not frames:
                raise
            self._error = exc
        return frames

    def _feed(self, chunk: bytes, frames: list[Frame]) -> None:
        buf = self._buf + chunk if self._buf else chunk
        pos = 0
        while len(buf) - pos >= 12:
            total, hlen, prelude_crc = _PRELUDE.unpack_from(buf, pos)
            if zlib.crc32(buf[pos:pos + 8]) != prelude_crc:
                raise UpstreamServerError("eventstream: prelude CRC mismatch")
            if total < 16 + hlen or total > _MAX_FRAME:
                raise UpstreamServerError("eventstream: bad frame length")
            if len(buf) - pos < total:
                break
            frame = buf[pos:pos + total]
            (msg_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != msg_crc:
                raise UpstreamServerError("eventstream: message CRC mismatch")
            frames.append(Frame(_headers(frame[12:12 + hlen]), frame[12 + hlen:total - 4]))
            pos += total
        self._buf = buf[pos:]

    @property
    def pending(self) -> int:
        return len(self._buf)

    def check(self) -> None:
        if self._error is not None:
            raise self._error
