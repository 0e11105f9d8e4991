"""Capability-aware routing: a request goes only to deployments that can serve it, never degraded.

A request needs `tools` when it offers tools or its conversation carries tool calls or tool results, and
`json_schema` when it sets `response_format`. A deployment serves it when it declares those capabilities
(`deployments[].capabilities`) and its provider can carry every parameter the request sets
(runtime/providers/support.py). Deployments that cannot are dropped from the try-order before the first
attempt, so failover never lands on them; when none is left, the request is refused before any limiter or
upstream call: 400 `unsupported_capability` naming the capability, or 400 `unsupported_parameter` naming
the parameter and the deployments that refuse it, or 400 `invalid_tool_schema` naming the schema keyword
no capable deployment's provider accepts (Vertex takes a subset of JSON Schema).
"""

from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.errors import InvalidToolSchema, UnsupportedCapability, UnsupportedParameter
from skyrelay.runtime.providers.support import refused, schema_refused


def needed(request: ChatRequest) -> tuple[str, ...]:
    """The capabilities `request` needs beyond plain chat."""
    need: tuple[str, ...] = ()
    if request.tools or any(m.tool_calls or m.role == "tool" for m in request.messages):
        need += ("tools",)
    if request.response_format:
        need += ("json_schema",)
    return need


def extended(request: ChatRequest) -> bool:
    """True when the request uses any of the surface this module checks (plain chat skips it)."""
    r = request
    return bool(r.tools or r.tool_choice or r.response_format or r.n or r.seed is not None or r.logprobs
                or r.top_logprobs or r.parallel_tool_calls is not None
                or any(m.tool_calls or m.role == "tool" for m in r.messages))


def check(model: str, states: list, request: ChatRequest) -> None:
    """Raises the 400 when no deployment of `model` (`states`: DeploymentStates) can serve `request`."""
    need = needed(request)
    capable = states
    for cap in need:
        having = [s for s in capable if cap in s.cfg.capabilities]
        if not having:
            lacking = ", ".join(s.name for s in capable)
            raise UnsupportedCapability(f"{cap}: no deployment of model {model!r} declares it ({lacking} do not)")
        capable = having
    refusals = [(s, refused(s.cfg.provider, request)) for s in capable]
    if all(p is not None for _, p in refusals):
        param = refusals[0][1]
        names = ", ".join(f"{s.name} ({s.cfg.provider})" for s, p in refusals if p == param)
        raise UnsupportedParameter(f"{param}: not supported by deployment {names} of model {model!r}")
    schemas = [(s, schema_refused(s.cfg.provider, request)) for s, p in refusals if p is None]
    if all(why is not None for _, why in schemas):
        s, why = schemas[0]
        raise InvalidToolSchema(f"{why} (deployment {s.name})")


def eligible(order: list, request: ChatRequest) -> list:
    """`order` without the deployments that cannot serve `request` (the order is kept)."""
    need = needed(request)
    return [s for s in order if all(c in s.cfg.capabilities for c in need)
            and refused(s.cfg.provider, request) is None and schema_refused(s.cfg.provider, request) is None]
