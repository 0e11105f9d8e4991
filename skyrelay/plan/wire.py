"""Decodes Pulumi's wire values (protobuf Structs with signature keys) into plain, printable data.

We decode the request ourselves instead of using the SDK's deserializer so that secrets stay
masked in reports that end up in pull-request comments.
"""

from typing import Any

from google.protobuf import json_format

SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_VALUE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
ASSET = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

SECRET_MASK = "[secret]"
COMPUTED = "<unknown>"  # a value unknown at preview (the engine's unknown sentinel)


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        sig = value.get(SIG)
        if sig == SECRET:
            return SECRET_MASK
        if sig == RESOURCE:
            return value.get("urn")
        if sig == OUTPUT_VALUE:
            if value.get("secret"):
                return SECRET_MASK
            return decode(value["value"]) if "value" in value else COMPUTED
        if sig in (ASSET, ARCHIVE):
            return {k: v for k, v in value.items() if k in ("path", "uri", "hash")} | {"kind": "asset"}
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value == UNKNOWN:
        return COMPUTED
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def struct_to_dict(struct) -> dict[str, Any]:
    return decode(json_format.MessageToDict(struct, preserving_proto_field_name=True))
