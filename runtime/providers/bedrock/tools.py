"""Tool calling and structured output on Bedrock Converse, as pure mapping.

- `tools` -> `toolConfig.tools[].toolSpec` (`inputSchema.json` is the function's JSON Schema);
  `tool_choice` auto / required / a named function -> `toolChoice` `{"auto": {}}` / `{"any": {}}` /
  `{"tool": {"name"}}` ("none" has no Converse form: refused, runtime/providers/support.py).
- An assistant turn's tool calls -> `toolUse` blocks (`input` is the parsed arguments); a tool message ->
  a user turn's `toolResult` block (`toolUseId`, the result as text).
- `response_format` -> the documented pattern: one forced tool (`JSON_TOOL`) whose input schema is the
  requested schema; its `toolUse` input is the answer, returned as the message text with finish `stop`.
- Answers: `toolUse` content blocks -> tool calls (arguments = the input as JSON text); streamed
  `contentBlockStart.start.toolUse` + `contentBlockDelta.delta.toolUse.input` fragments -> OpenAI-shaped
  pieces, numbered by tool call (not by content block).
"""

import orjson

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import UpstreamServerError

JSON_TOOL = "json_response"  # the forced tool that carries a response_format answer
_ANY_OBJECT = {"type": "object"}


def message_blocks(m: Message) -> list[dict]:
    """The content blocks of a message that has tool calls or answers one."""
    if m.tool_call_id is not None:
        return [{"toolResult": {"toolUseId": m.tool_call_id, "content": [{"text": m.content or " "}]}}]
    blocks = [{"text": m.content}] if m.content else []
    for c in m.tool_calls or ():
        try:
            args = orjson.loads(c["arguments"] or "{}")
        except orjson.JSONDecodeError:
            args = {}
        blocks.append({"toolUse": {"toolUseId": c["id"], "name": c["name"], "input": args}})
    return blocks


def tool_config(request: ChatRequest) -> dict | None:
    rf = request.response_format
    if rf is not None:
        schema = rf.get("schema") or _ANY_OBJECT
        spec = {"name": JSON_TOOL, "description": rf.get("description") or "Answer with the response as JSON.",
                "inputSchema": {"json": schema}}
        return {"tools": [{"toolSpec": spec}], "toolChoice": {"tool": {"name": JSON_TOOL}}}
    if not request.tools:
        return None
    tools = []
    for t in request.tools:
        spec = {"name": t["name"], "inputSchema": {"json": t.get("parameters") or {"type": "object", "properties": {}}}}
        if t.get("description"):
            spec["description"] = t["description"]
        tools.append({"toolSpec": spec})
    config: dict = {"tools": tools}
    choice = request.tool_choice
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict):
        config["toolChoice"] = {"tool": {"name": choice["name"]}}
    return config


def answer_of(content: list) -> tuple[str, list[dict] | None, bool]:
    """(text, tool calls, structured): a Converse message's text and toolUse blocks; a JSON_TOOL call is
    the structured answer, returned as text."""
    texts, calls, structured = [], [], False
    for b in content:
        if not isinstance(b, dict):
            continue
        if "text" in b:
            texts.append(b["text"])
        use = b.get("toolUse")
        if isinstance(use, dict):
            try:
                args = orjson.dumps(use.get("input", {})).decode()
                if use["name"] == JSON_TOOL:
                    texts, structured = [args], True
                    continue
                calls.append({"id": use["toolUseId"], "name": use["name"], "arguments": args})
            except (KeyError, TypeError, orjson.JSONEncodeError) as exc:
                raise UpstreamServerError(f"malformed Converse toolUse block: {exc}") from None
    return "".join(texts), calls or None, structured


class StreamTools:
    """Follows the toolUse content blocks of one ConverseStream."""

    __slots__ = ("blocks", "structured")

    def __init__(self) -> None:
        self.blocks: dict[int, int | None] = {}  # content block index -> tool call index (None: JSON_TOOL)
        self.structured = False

    def start(self, payload: dict) -> dict | None:
        """contentBlockStart: a call's first piece (id and name), or None."""
        use = (payload.get("start") or {}).get("toolUse")
        if not isinstance(use, dict):
            return None
        block = payload.get("contentBlockIndex", 0)
        if use.get("name") == JSON_TOOL:
            self.blocks[block] = None
            self.structured = True
            return None
        index = sum(1 for v in self.blocks.values() if v is not None)
        self.blocks[block] = index
        return {"index": index, "id": use.get("toolUseId") or "", "name": use.get("name") or "", "arguments": ""}

    def delta(self, payload: dict) -> tuple[str | None, dict | None]:
        """contentBlockDelta with toolUse input: (text of a structured answer, or a call's argument piece)."""
        fragment = ((payload.get("delta") or {}).get("toolUse") or {}).get("input")
        if fragment is None:
            return None, None
        block = payload.get("contentBlockIndex", 0)
        if block not in self.blocks:
            raise UpstreamServerError("ConverseStream toolUse delta before its contentBlockStart")
        index = self.blocks[block]
        if index is None:
            return fragment, None
        return None, {"index": index, "arguments": fragment}
