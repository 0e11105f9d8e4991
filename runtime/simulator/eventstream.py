"""Encoder for `application/vnd.amazon.eventstream` frames, as Bedrock ConverseStream sends them."""

import struct
import zlib

import orjson


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One frame: prelude (total, headers length, CRC32), headers, payload, message CRC32."""
    raw_headers = b"".join(_header(k, v) for k, v in headers.items())
    total = 16 + len(raw_headers) + len(payload)
    prelude = struct.pack(">II", total, len(raw_headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(event_type: str, payload: dict) -> bytes:
    return frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                 orjson.dumps(payload))


def exception(exception_type: str, message: str) -> bytes:
    return frame({":exception-type": exception_type, ":content-type": "application/json",
                  ":message-type": "exception"}, orjson.dumps({"message": message}))


def corrupt(data: bytes) -> bytes:
    """The same frame with its message CRC flipped (what a decoder must reject)."""
    return data[:-4] + bytes(b ^ 0xFF for b in data[-4:])
