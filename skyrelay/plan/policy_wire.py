"""From captured RegisterResource requests to what policies see: pulumi_policy's validation args
(the `direct` engine) and the analyzer's protobuf requests (the `analyzer` engine)."""

import json
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from skyrelay.plan import wire
from skyrelay.plan.model import Plan, PlannedResource

_SPECIAL = (wire.RESOURCE.encode(), wire.OUTPUT_VALUE.encode())


def wire_object(resource: PlannedResource) -> struct_pb2.Struct:
    """The request's properties as the engine hands them to analyzers: resource references become
    their id (custom) or URN (component), output values their value, secret or unknown."""
    request = resource.request
    if request is None:  # built by hand (tests, benchmarks): inputs are already plain
        struct = struct_pb2.Struct()
        struct.update(jsonable(resource.inputs))
        return struct
    raw = request.object.SerializeToString()
    if not any(sig in raw for sig in _SPECIAL):
        return request.object
    struct = struct_pb2.Struct()
    struct.update(_downgrade(json_format.MessageToDict(request.object)))
    return struct


_SIG_BYTES = (wire.SIG.encode(), wire.UNKNOWN.encode())


def plain_properties(resource: PlannedResource) -> Any:
    """The properties as pulumi_policy hands them to a policy. A request without special values
    (no secret, reference, output, asset or unknown) decodes to exactly the captured inputs, and
    the unknown-checking proxy could never raise on it, so the inputs are used as they are;
    everything else takes pulumi_policy's own path (deserialise, then the proxy)."""
    request = resource.request
    if request is not None and not any(sig in request.object.SerializeToString() for sig in _SIG_BYTES):
        return resource.inputs
    raw = jsonable(resource.inputs) if request is None else json_format.MessageToDict(wire_object(resource))
    return unknown_checking_proxy(deserialize_properties(raw))


def _downgrade(value: Any) -> Any:
    if isinstance(value, dict):
        sig = value.get(wire.SIG)
        if sig == wire.RESOURCE:
            return value.get("id") or value.get("urn")
        if sig == wire.OUTPUT_VALUE:
            if "value" not in value:
                return wire.UNKNOWN
            inner = _downgrade(value["value"])
            return {wire.SIG: wire.SECRET, "value": inner} if value.get("secret") else inner
        return {k: _downgrade(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_downgrade(v) for v in value]
    return value


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def stack_identity(plan: Plan) -> tuple[str, str]:
    name = f"{plan.project}-{plan.stack}"
    return f"urn:pulumi:{plan.stack}::{plan.project}::pulumi:pulumi:Stack::{name}", name


def provider_urns(plan: Plan) -> set[str]:
    return {r.provider.rsplit("::", 1)[0] for r in plan.resources if r.provider}


def policy_options(r: PlannedResource | None):
    req = r.request if r is not None else None
    if req is None:
        return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent if r else None)
    return PolicyResourceOptions(
        bool(req.protect), list(req.ignoreChanges), bool(req.deleteBeforeReplace) if req.deleteBeforeReplaceDefined
        else None, [], PolicyCustomTimeouts(0, 0, 0), list(req.additionalSecretOutputs), r.parent,
    )  # fmt: skip


def analyzer_options(r: PlannedResource):
    options = proto.AnalyzerResourceOptions(parent=r.parent or "")
    req = r.request
    if req is not None:
        options.protect = bool(req.protect)
        options.ignoreChanges.extend(req.ignoreChanges)
        options.additionalSecretOutputs.extend(req.additionalSecretOutputs)
        options.deleteBeforeReplace = bool(req.deleteBeforeReplace)
        options.deleteBeforeReplaceDefined = bool(req.deleteBeforeReplaceDefined)
    return options


def analyzer_provider(r: PlannedResource, by_urn: dict[str, PlannedResource], objects: dict):
    if not r.provider:
        return None
    urn = r.provider.rsplit("::", 1)[0]
    found = by_urn.get(urn)
    if found is None:
        return None
    return proto.AnalyzerProviderResource(type=found.type, urn=found.urn, name=found.name, properties=objects[urn])
