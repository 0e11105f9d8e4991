"""Which OpenAI chat parameters each provider can carry: native, translated, or refused.

One table, read by the router (a deployment that would have to drop a parameter is never chosen: the
request goes to one that can carry it, or is refused with 400 `unsupported_parameter` naming the
parameter and the deployments) and printed in docs/router.md and docs/providers.md. A parameter set to a
value that asks for nothing (`n: 1`, `logprobs: false`) never reaches this check.

Choices made here (docs/router.md says why):
- `n` > 1 is native on Azure and OpenAI-compatible upstreams (several choices, relayed by index) and refused
  on Bedrock (Converse has one answer; a fan-out would multiply cost behind one tenant reservation) and
  Vertex (`candidateCount` exists; relaying several candidates from its stream is not built).
- `logprobs` / `top_logprobs` are native on Azure and OpenAI-compatible upstreams (relayed as they come),
  translated on Vertex (`responseLogprobs` / `logprobs`; `logprobsResult` back into OpenAI's entries) and
  refused on Bedrock (Converse has none).
- Bedrock Converse has no `seed`, no `tool_choice: "none"` and no switch for parallel tool calls: refused.
- Vertex has no switch for parallel tool calls (`parallel_tool_calls: false` is refused); Bedrock and
  Vertex cannot combine `response_format` with `tools` (Bedrock's structured output *is* a forced tool).
"""

from skyrelay.runtime.canonical import ChatRequest

NATIVE, TRANSLATED, REFUSED = "native", "translated", "refused"
PARAMETERS = ("tools", "tool_choice", "parallel_tool_calls", "response_format", "n", "stop", "seed", "logprobs",
              "top_logprobs")
_OPENAI = {"tools": NATIVE, "tool_choice": NATIVE, "parallel_tool_calls": NATIVE, "response_format": NATIVE,
           "n": NATIVE, "stop": NATIVE, "seed": NATIVE, "logprobs": NATIVE, "top_logprobs": NATIVE}
TABLE: dict[str, dict[str, str]] = {
    "bedrock": {"tools": TRANSLATED, "tool_choice": TRANSLATED, "parallel_tool_calls": REFUSED,
                "response_format": TRANSLATED, "n": REFUSED, "stop": TRANSLATED, "seed": REFUSED,
                "logprobs": REFUSED, "top_logprobs": REFUSED},
    "azure_openai": dict(_OPENAI),
    "vertex": {"tools": TRANSLATED, "tool_choice": TRANSLATED, "parallel_tool_calls": REFUSED,
               "response_format": TRANSLATED, "n": REFUSED, "stop": TRANSLATED, "seed": TRANSLATED,
               "logprobs": TRANSLATED, "top_logprobs": TRANSLATED},
    "openai_compat": dict(_OPENAI),
}
# Cells that are "translated" or "native" except for some values: what exactly is refused.
NOTES = {
    ("bedrock", "tool_choice"): '"none" refused',
    ("bedrock", "parallel_tool_calls"): "true accepted (the model may call several tools); false refused",
    ("vertex", "parallel_tool_calls"): "true accepted; false refused",
    ("bedrock", "response_format"): "a forced tool; refused together with tools",
    ("vertex", "response_format"): "responseMimeType / responseSchema; refused together with tools",
}


def refused(provider: str, request: ChatRequest) -> str | None:
    """The first parameter of `request` that `provider` cannot carry, or None. Cheap when the request uses
    none of the extended surface (the plain-chat hot path)."""
    r = request
    if not (r.tools or r.tool_choice or r.parallel_tool_calls is not None or r.response_format or r.n or r.seed
            is not None or r.logprobs or r.top_logprobs):
        return None
    if provider in ("azure_openai", "openai_compat"):
        return None
    if r.n is not None and r.n > 1:
        return "n"
    if r.logprobs and provider == "bedrock":
        return "logprobs"
    if r.top_logprobs and provider == "bedrock":
        return "top_logprobs"
    if r.seed is not None and provider == "bedrock":
        return "seed"
    if r.parallel_tool_calls is False:
        return "parallel_tool_calls"
    if r.tool_choice == "none" and provider == "bedrock":
        return "tool_choice"
    if r.response_format and r.tools:
        return "response_format"
    return None


def schema_refused(provider: str, request: ChatRequest) -> str | None:
    """Why `provider` cannot carry the request's JSON Schemas (the field and the keyword), or None. Only
    Vertex takes a subset (its OpenAPI Schema); Converse and the OpenAI wire take JSON Schema as it is."""
    if provider != "vertex" or not (request.tools or request.response_format):
        return None
    from skyrelay.runtime.providers.vertex.tools import schema_problem

    return schema_problem(request)
