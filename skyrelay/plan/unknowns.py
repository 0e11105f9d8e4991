"""Values unknown at preview, as the engine represents them, and how they travel through a render.

`pulumi preview` knows only what the program gives a resource and what the provider can say before
creating it; the rest is the engine's unknown sentinel (`UNKNOWN`, the same string the SDK and
CrossGuard use), and `.apply` on an unknown Output never runs. The plan renders in the SDK's
preview mode, so the SDK does that part itself. Two places need help:

- A plain (non-Output) invoke must return an object of its result class, whose constructor rejects
  anything but the declared Python types. Fields the plan cannot compute get a *placeholder* of the
  declared type: for strings a "tainted" string that carries the sentinel, the invoke and the field
  (so an f-string over it stays recognisable), for lists one element, for maps `{}`.
- A string that contains the sentinel without being it (a placeholder, or an f-string over one) is
  unknown as a whole: `taint` turns it back into the sentinel before a resource or report sees it.
"""

import importlib
import keyword
import sys
import typing
from collections import abc
from typing import Any

from pulumi import _types
from pulumi.runtime.rpc import UNKNOWN

_PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native"}
_MAX_DEPTH = 6


def placeholder_string(token: str, path: str) -> str:
    """A string that stands for `token`'s result field `path`: unknown, but of type str."""
    return f"{UNKNOWN}<{token}:{path}>"


def is_tainted(value: Any) -> bool:
    return isinstance(value, str) and UNKNOWN in value


def tainted_source(value: str) -> str | None:
    """`token:path` of the invoke field a tainted string came from, if it names one."""
    start = value.find(UNKNOWN + "<")
    if start < 0:
        return None
    end = value.find(">", start)
    return value[start + len(UNKNOWN) + 1 : end] if end > 0 else None


def taint(value: Any) -> Any:
    """Plain data with every string that contains the sentinel replaced by the sentinel itself."""
    if isinstance(value, str):
        return UNKNOWN if UNKNOWN in value else value
    if isinstance(value, dict):
        return {k: taint(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [taint(v) for v in value]
    return value


_SENTINEL_BYTES = UNKNOWN.encode()


def taint_struct(struct) -> bool:
    """In place, on a protobuf Struct (a RegisterResource request's inputs): every string value that
    contains the sentinel becomes the sentinel. Returns whether anything changed. A request without
    the sentinel's bytes is left alone without being walked."""
    if _SENTINEL_BYTES not in struct.SerializeToString():
        return False
    return _taint_fields(struct.fields)


def _taint_fields(fields) -> bool:
    changed = False
    for key in list(fields):
        changed |= _taint_value(fields[key])
    return changed


def _taint_value(value) -> bool:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        if UNKNOWN in value.string_value and value.string_value != UNKNOWN:
            value.string_value = UNKNOWN
            return True
        return False
    if kind == "struct_value":
        return _taint_fields(value.struct_value.fields)
    if kind == "list_value":
        changed = False
        for item in value.list_value.values:
            changed |= _taint_value(item)
        return changed
    return False


# ---- the SDK's result classes ----
def result_class(token: str) -> type | None:
    """The SDK class an invoke's result is declared as: `aws:ec2/getAmi:getAmi` -> pulumi_aws.ec2.GetAmiResult.

    The module is usually imported already (the program called the function); it is imported here
    only when it is not. None when the package or class cannot be found."""
    try:
        package, module, function = token.split(":")
    except ValueError:
        return None
    root = _PACKAGES.get(package, "pulumi_" + package.replace("-", "_"))
    parts = [p for p in module.split("/")[:1] if p != "index"]
    parts = [p + "_" if keyword.iskeyword(p) else p for p in parts]
    name = ".".join([root, *parts])
    mod = sys.modules.get(name)
    if mod is None:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            return None
    cls = getattr(mod, function[:1].upper() + function[1:] + "Result", None)
    return cls if isinstance(cls, type) and _types.is_output_type(cls) else None


def placeholder(tp: Any, token: str, path: str = "", depth: int = 0) -> Any:
    """A value of declared type `tp` that stands for "unknown at preview" (see the module doc)."""
    tp = _types.unwrap_type(tp) if tp is not Any else tp
    origin = typing.get_origin(tp)
    if tp is bool:
        return False
    if tp in (int, float):
        return tp(0)
    if origin in (list, abc.Sequence, typing.Sequence, typing.List):  # noqa: UP006 - the SDK uses both
        args = typing.get_args(tp)
        return [placeholder(args[0] if args else Any, token, f"{path}[0]", depth + 1)]
    if origin in (dict, abc.Mapping, typing.Mapping, typing.Dict) or tp is dict:  # noqa: UP006
        return {}
    if isinstance(tp, type) and _types.is_output_type(tp):
        if depth >= _MAX_DEPTH:
            return {}
        return {
            name: placeholder(field, token, f"{path}.{name}" if path else name, depth + 1)
            for name, field in sorted(_types.output_type_types(tp).items())
        }
    return placeholder_string(token, path or "value")
