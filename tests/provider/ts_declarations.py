"""TypeScript declarations of the `@pulumi/skyrelay` SDK, emitted from a served schema.

Not Pulumi's SDK generator: that is Go code the Pulumi CLI runs (`pulumi package add`/`gen-sdk`),
and no CLI exists on these machines. This emits what a TypeScript program type-checks against, in
the shape Pulumi's Node.js SDKs have: a namespace per schema module (`skyrelay.aws`), a
`ComponentResource` class per component whose outputs are `pulumi.Output<T>`, an Args interface
whose required inputs are required, `pulumi.Input<T>` except for plain inputs, and the package's
object types as interfaces. Outputs that are AWS resources are typed by `@pulumi/aws`; other
providers' resources (not installed for the check) are `pulumi.CustomResource`.
"""

from typing import Any

_PRIMITIVES = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}


def declarations(schema: dict[str, Any]) -> str:
    aws_modules: set[str] = set()
    modules: dict[str, list[str]] = {}
    for token, res in sorted(schema["resources"].items()):
        _, module, name = token.split(":")
        modules.setdefault(module, []).extend(_component(name, res, aws_modules))
    for token, typ in sorted(schema.get("types", {}).items()):
        _, module, name = token.split(":")
        modules.setdefault(module, []).extend(_interface(f"{name}Args", typ["properties"], typ.get("required", []),
                                                         typ.get("description", ""), aws_modules))
    lines = ['import * as pulumi from "@pulumi/pulumi";']
    lines += [f'import * as aws_{m} from "@pulumi/aws/{m}";' for m in sorted(aws_modules)]
    for module, body in modules.items():
        lines += ["", f"export declare namespace {module} {{", *("    " + line if line else "" for line in body), "}"]
    return "\n".join(lines) + "\n"


def _component(name: str, res: dict[str, Any], aws_modules: set[str]) -> list[str]:
    required = res.get("requiredInputs", [])
    args = f"args{'' if required else '?'}: {name}Args"
    lines = [*_doc(res.get("description", "")), f"export class {name} extends pulumi.ComponentResource {{"]
    for prop_name, prop in sorted(res["properties"].items()):
        lines += ["    " + d for d in _doc(prop.get("description", ""))]
        lines.append(f"    readonly {prop_name}: pulumi.Output<{_ts(prop, aws_modules, output=True)}>;")
    lines += [f"    constructor(name: string, {args}, opts?: pulumi.ComponentResourceOptions);", "}"]
    return lines + _interface(f"{name}Args", res["inputProperties"], required, f"The set of arguments for {name}.",
                              aws_modules)


def _interface(name: str, props: dict[str, Any], required: list[str], description: str, aws_modules: set[str]) -> list[str]:
    lines = [*_doc(description), f"export interface {name} {{"]
    for prop_name, prop in sorted(props.items()):
        lines += ["    " + d for d in _doc(prop.get("description", ""))]
        optional = "" if prop_name in required else "?"
        lines.append(f"    {prop_name}{optional}: {_ts(prop, aws_modules)};")
    return [*lines, "}"]


def _ts(prop: dict[str, Any], aws_modules: set[str], output: bool = False) -> str:
    ref = prop.get("$ref")
    if ref and ref.startswith("#/types/"):
        _, module, name = ref.removeprefix("#/types/").split(":")
        inner = f"{module}.{name}Args"
    elif ref:
        resource = ref.rsplit("/", 1)[1].replace("%2F", "/")  # aws:sns/topic:Topic
        package, module, kind = resource.split(":")
        if package == "aws":
            module = module.split("/")[0]
            aws_modules.add(module)
            inner = f"aws_{module}.{kind}"
        else:
            inner = "pulumi.CustomResource"
    elif prop["type"] == "array":
        inner = f"{_ts(prop['items'], aws_modules, output)}[]"
    elif prop["type"] == "object":
        values = prop.get("additionalProperties", {"type": "string"})
        inner = f"{{[key: string]: {_ts(values, aws_modules, output)}}}"
    else:
        inner = _PRIMITIVES[prop["type"]]
    return inner if output or prop.get("plain") else f"pulumi.Input<{inner}>"


def _doc(text: str) -> list[str]:
    return ["/** " + " ".join(text.split()).replace("*/", "* /") + " */"] if text else []
