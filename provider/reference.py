"""The package reference in Markdown, rendered from a schema (scripts/gen_docs.py writes it into the
README and docs/provider.md; a test renders it from the schema the plugin serves and compares).

Types read as a TypeScript consumer sees them: `Input<T>` takes a value or another resource's
output, a bare `T` takes a value only (the schema's `plain`).
"""

from typing import Any

_CLOUDS = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}


def components_table(schema: dict[str, Any]) -> str:
    """One row per component: cloud, token, its inputs (required ones in bold)."""
    lines = ["| Cloud | Component | Inputs (**required**) |", "|---|---|---|"]
    for token, res in _resources(schema):
        required = set(res.get("requiredInputs", []))
        inputs = ", ".join(f"**`{n}`**" if n in required else f"`{n}`" for n in sorted(res["inputProperties"]))
        lines.append(f"| {_CLOUDS[_module(token)]} | [`{token}`](docs/provider.md#{_anchor(token)}) | {inputs} |")
    return "\n".join(lines) + "\n"


def markdown(schema: dict[str, Any]) -> str:
    """Every component's inputs and outputs, then the package's object types."""
    out = []
    for token, res in _resources(schema):
        required = set(res.get("requiredInputs", []))
        out += [f"### `{token}`", "", _text(res.get("description", "")), "", "| Input | Type | Description |", "|---|---|---|"]
        for name, prop in sorted(res["inputProperties"].items()):
            marks = " (required)" if name in required else ""
            marks += " (secret)" if prop.get("secret") else ""
            out.append(f"| `{name}`{marks} | {_cell(_type(prop))} | {_text(prop['description'])} |")
        out += ["", "| Output | Type | Description |", "|---|---|---|"]
        out += [f"| `{n}` | {_cell(_type(p, output=True))} | {_text(p['description'])} |"
                for n, p in sorted(res["properties"].items())]
        out.append("")
    for token, typ in sorted(schema.get("types", {}).items()):
        required = set(typ.get("required", []))
        out += [f"### `{token}`", "", _text(typ.get("description", "")), "", "| Property | Type | Description |",
                "|---|---|---|"]
        out += [f"| `{n}`{' (required)' if n in required else ''} | {_cell(_type(p))} | {_text(p['description'])} |"
                for n, p in sorted(typ["properties"].items())]
        out.append("")
    return "\n".join(out)


def _resources(schema: dict[str, Any]):
    return sorted(schema["resources"].items(), key=lambda item: (_module(item[0]), item[0]))


def _module(token: str) -> str:
    return token.split(":")[1]


def _anchor(token: str) -> str:
    return token.replace(":", "").lower()


def _text(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _cell(type_text: str) -> str:
    """A type as code, or (when it holds a link, which code would not render) with `<>` escaped."""
    if "](" in type_text:
        return type_text.replace("<", "&lt;").replace(">", "&gt;")
    return f"`{type_text}`"


def _type(prop: dict[str, Any], output: bool = False) -> str:
    ref = prop.get("$ref")
    if ref and ref.startswith("#/types/"):
        token = ref.removeprefix("#/types/")
        inner = f"[{token.rsplit(':', 1)[1]}](#{_anchor(token)})"
    elif ref:
        inner = ref.rsplit("/", 1)[1].replace("%2F", "/") + " resource"
    elif prop["type"] == "array":
        inner = f"list of {_type(prop['items'], output)}"
    elif prop["type"] == "object":
        inner = f"map of {_type(prop.get('additionalProperties', {'type': 'string', 'plain': True}), output)}"
    else:
        inner = prop["type"]
    return inner if output or prop.get("plain") else f"Input<{inner}>"
