"""Firestore's REST wire values (v1 `Value`), mapped to and from Python as google-cloud-firestore maps
them, so a document written by one reads back identically through the other
(tests/gcp_runtime/test_firestore_rest_pinned.py): `integerValue` for ints (sent as strings),
`doubleValue` (NaN and the infinities as strings), `stringValue`, `bytesValue` (base64),
`booleanValue`, `nullValue`, `timestampValue` (RFC 3339, UTC; naive datetimes are UTC, as in the
SDK; read back as aware UTC datetimes to the microsecond), `mapValue`, `arrayValue`, and
`referenceValue` (a document's full name: query cursors on `__name__`).
"""

import base64
import datetime as dt
import re

SIMPLE_FIELD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


class Ref:
    """A document reference as a query cursor value (`referenceValue`): the document's full name."""

    def __init__(self, name: str):
        self.name = name


def timestamp(epoch_s: float) -> dt.datetime:
    """A Firestore timestamp (what a TTL policy deletes on) from epoch seconds."""
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


def rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)  # naive datetimes are UTC, as in the SDK
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """RFC 3339 with up to nanoseconds -> an aware UTC datetime (microseconds, as Python keeps)."""
    m = _TS.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    frac = (m.group(2) or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return dt.datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}").astimezone(dt.UTC)


# ---- values: the SDK's mapping between Python values and Firestore's ----
def encode(value) -> dict:
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"doubleValue": "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")}
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dt.datetime):
        return {"timestampValue": rfc3339(value)}
    if isinstance(value, Ref):
        return {"referenceValue": value.name}
    if isinstance(value, dict):
        return {"mapValue": {"fields": encode_fields(value)}}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [encode(v) for v in value]}}
    raise TypeError(f"cannot store {type(value).__name__} in Firestore")


def encode_fields(doc: dict) -> dict:
    return {str(k): encode(v) for k, v in doc.items()}


def decode(value: dict):
    (kind, v), = value.items()
    if kind == "stringValue":
        return v
    if kind == "integerValue":
        return int(v)
    if kind == "doubleValue":
        return float(v)
    if kind == "booleanValue":
        return bool(v)
    if kind == "nullValue":
        return None
    if kind == "bytesValue":
        return base64.b64decode(v)
    if kind == "timestampValue":
        return parse_time(v)
    if kind == "mapValue":
        return decode_fields((v or {}).get("fields") or {})
    if kind == "arrayValue":
        return [decode(x) for x in (v or {}).get("values") or []]
    if kind == "referenceValue":
        return Ref(v)
    if kind == "geoPointValue":
        return (v.get("latitude", 0.0), v.get("longitude", 0.0))
    raise ValueError(f"unknown Firestore value {kind}")


def decode_fields(fields: dict) -> dict:
    return {k: decode(v) for k, v in fields.items()}


def field_path(name: str) -> str:
    """A top-level field as a field path (backquoted unless a simple identifier)."""
    if SIMPLE_FIELD.match(name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
