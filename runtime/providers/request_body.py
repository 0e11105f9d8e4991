"""Pieces every provider's request body is built from: sampling parameters under the provider's own
names, and turns merged so that roles alternate (Converse and Gemini both require it)."""

from skyrelay.runtime.canonical import ChatRequest


def sampling_fields(request: ChatRequest, *, max_tokens: str, top_p: str, stop: str,
                    temperature: str = "temperature") -> dict:
    """The request's sampling parameters that are set, keyed by the provider's field names."""
    fields: dict = {}
    if request.max_tokens is not None:
        fields[max_tokens] = request.max_tokens
    if request.temperature is not None:
        fields[temperature] = request.temperature
    if request.top_p is not None:
        fields[top_p] = request.top_p
    if request.stop:
        fields[stop] = request.stop
    return fields


def append_turn(turns: list[dict], role: str, parts: list[dict], parts_key: str) -> None:
    """Adds `parts` to the last turn when it has the same role, else starts a new turn."""
    if turns and turns[-1]["role"] == role:
        turns[-1][parts_key].extend(parts)
    else:
        turns.append({"role": role, parts_key: parts})
