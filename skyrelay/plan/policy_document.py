"""`aws.iam.getPolicyDocument`, computed offline exactly as the provider computes it.

The data source is a pure function of its arguments, so a plan can return the real JSON instead of
an unknown. Behaviour followed (terraform-provider-aws `aws_iam_policy_document`, which pulumi-aws
bridges; checked against its documented examples in tests/plan/test_policy_document.py):

- Statements keep their order. Fields come out as Sid, Effect, Action, NotAction, Resource,
  NotResource, Principal, NotPrincipal, Condition, each left out when empty (an empty Sid too,
  since provider v5). Effect defaults to Allow, Version to 2012-10-17.
- Actions, resources and principal identifiers are sets: deduplicated; one value is a string,
  several are sorted in descending order. Condition values keep their order; one value is a string.
- Principals group by type; a single `*` principal of type `*` becomes `"Principal": "*"`.
  Conditions group by test, then variable. Keys of both come out sorted.
- `&{...}` becomes the IAM policy variable `${...}` in resources, principals and condition values.
- `source_policy_documents` are merged first (their Sids must be unique), then the statements given
  here, then each `override_policy_documents` entry: a statement with the Sid of an earlier one
  replaces it in place, any other is appended.
- The JSON is Go's: two-space indent, `<`, `>` and `&` escaped as \\u003c, \\u003e, \\u0026.
  `id` is the CRC-32 of the JSON, as the provider sets it.

Principal blocks of one type and condition blocks of one test and variable are concatenated in the
order given (the provider orders those sets by hash; the JSON differs only in that order).
"""

import json
import re
import zlib
from typing import Any

TOKEN = "aws:iam/getPolicyDocument:getPolicyDocument"
VERSIONS = ("2008-10-17", "2012-10-17")
_SID = re.compile(r"^[a-zA-Z0-9]*$")
_FIELDS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition")


class PolicyDocumentError(ValueError):
    """The arguments are rejected, with the provider's reason."""


def _arg(mapping: dict, camel: str) -> Any:
    """A wire argument by its camelCase name; dict inputs reach an invoke with snake_case keys."""
    if camel in mapping:
        return mapping[camel]
    return mapping.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def _set(values: Any) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values or ()))


def _one_or_descending(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else sorted(values, reverse=True)


def _variables(values: list[str], version: str) -> list[str]:
    out = []
    for value in values:
        if version == "2008-10-17" and "&{" in value:
            raise PolicyDocumentError(
                f"found &{{ sequence in ({value}), which is not supported in document version 2008-10-17"
            )
        out.append(value.replace("&{", "${"))
    return out


class Statement:
    """One statement: `principals`/`not_principals` as [(type, identifiers)], `conditions` as
    [(test, variable, values)], where identifiers and values are a string or a list."""

    def __init__(self, fields: dict[str, Any], principals=None, not_principals=None, conditions=None):
        self.fields = fields
        self.principals = principals or []
        self.not_principals = not_principals or []
        self.conditions = conditions or []

    @property
    def sid(self) -> str:
        return self.fields.get("Sid") or ""

    def to_json(self) -> dict[str, Any]:
        values = dict(self.fields)
        if self.principals:
            values["Principal"] = _principal_json(self.principals)
        if self.not_principals:
            values["NotPrincipal"] = _principal_json(self.not_principals)
        if self.conditions:
            values["Condition"] = _condition_json(self.conditions)
        return {k: values[k] for k in _FIELDS if values.get(k) not in (None, "")}


def _principal_json(principals: list[tuple[str, Any]]) -> Any:
    if len(principals) == 1 and principals[0][0] == "*" and principals[0][1] in ("*", ["*"]):
        return "*"
    raw: dict[str, Any] = {}
    for kind, identifiers in principals:
        have = raw.get(kind)
        if isinstance(identifiers, list):
            raw[kind] = ([] if have is None else [have] if isinstance(have, str) else have) + sorted(
                identifiers, reverse=True
            )
        elif have is None:
            raw[kind] = identifiers
        else:
            raw[kind] = [have, identifiers] if isinstance(have, str) else [*have, identifiers]
    return dict(sorted(raw.items()))


def _condition_json(conditions: list[tuple[str, str, Any]]) -> dict[str, Any]:
    raw: dict[str, dict[str, list]] = {}
    for test, variable, values in conditions:
        raw.setdefault(test, {}).setdefault(variable, []).extend(values if isinstance(values, list) else [values])
    return {
        test: {var: vals[0] if len(vals) == 1 else vals for var, vals in sorted(variables.items())}
        for test, variables in sorted(raw.items())
    }


class Document:
    def __init__(self, version: str = "", policy_id: str = "", statements: list[Statement] | None = None):
        self.version = version
        self.policy_id = policy_id
        self.statements = statements or []

    def merge(self, other: "Document") -> None:
        if other.policy_id:
            self.policy_id = other.policy_id
        if other.version > self.version:
            self.version = other.version
        for statement in other.statements:
            at = next((i for i, s in enumerate(self.statements) if statement.sid and s.sid == statement.sid), None)
            if at is None:
                self.statements.append(statement)
            else:
                self.statements[at] = statement

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.version:
            doc["Version"] = self.version
        if self.policy_id:
            doc["Id"] = self.policy_id
        if self.statements:
            doc["Statement"] = [s.to_json() for s in self.statements]
        return doc


# ---- from the invoke's arguments ----
def _configured_statement(raw: dict, version: str) -> Statement:
    effect = _arg(raw, "effect") or "Allow"
    if effect not in ("Allow", "Deny"):
        raise PolicyDocumentError(f'expected statement effect to be one of ["Allow" "Deny"], got {effect}')
    sid = _arg(raw, "sid") or ""
    if not _SID.match(sid):
        raise PolicyDocumentError(f"statement sid {sid!r} must only include alphanumeric characters")
    fields: dict[str, Any] = {"Sid": sid, "Effect": effect}
    for name, key, variables in (("actions", "Action", False), ("notActions", "NotAction", False),
                                 ("resources", "Resource", True), ("notResources", "NotResource", True)):  # fmt: skip
        values = _set(_arg(raw, name))
        if values:
            fields[key] = _one_or_descending(_variables(values, version) if variables else values)
    conditions = []
    for cond in _arg(raw, "conditions") or ():
        values = _variables([str(v) for v in _arg(cond, "values") or ()], version)
        conditions.append((str(_arg(cond, "test")), str(_arg(cond, "variable")), values[0] if len(values) == 1 else values))
    return Statement(
        fields,
        _configured_principals(_arg(raw, "principals"), version),
        _configured_principals(_arg(raw, "notPrincipals"), version),
        conditions,
    )


def _configured_principals(blocks: Any, version: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for block in blocks or ():
        identifiers = _variables(_set(_arg(block, "identifiers")), version)
        entry = (str(_arg(block, "type")), identifiers[0] if len(identifiers) == 1 else sorted(identifiers, reverse=True))
        if entry not in out:  # the blocks are a set
            out.append(entry)
    return out


# ---- from a JSON document (source and override documents) ----
def _parsed(text: str, role: str, index: int) -> Document:
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        statements = doc.get("Statement") or []
        if not isinstance(statements, list):
            raise ValueError("Statement is not a list")
        return Document(str(doc.get("Version") or ""), str(doc.get("Id") or ""),
                        [_parsed_statement(s) for s in statements])  # fmt: skip
    except (ValueError, TypeError, AttributeError) as exc:
        raise PolicyDocumentError(f"merging {role} document {index}: {exc}") from None


def _parsed_statement(raw: dict) -> Statement:
    fields = {k: raw[k] for k in ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource") if k in raw}
    return Statement(fields, _parsed_principals(raw.get("Principal")), _parsed_principals(raw.get("NotPrincipal")),
                     _parsed_conditions(raw.get("Condition")))  # fmt: skip


def _parsed_principals(value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [("*", ["*"])]
    out = []
    for kind, ids in value.items():
        out.append((kind, ids if isinstance(ids, str) else sorted(str(i) for i in ids)))
    return out


def _parsed_conditions(value: Any) -> list[tuple[str, str, Any]]:
    out = []
    for test, variables in (value or {}).items():
        for variable, values in variables.items():
            if isinstance(values, bool):
                out.append((test, variable, "true" if values else "false"))
            elif isinstance(values, str):
                out.append((test, variable, [values]))
            elif isinstance(values, list):
                out.append((test, variable, [str(v) for v in values]))
    return out


def go_json(value: Any, indent: bool) -> str:
    """JSON as Go's encoding/json writes it (MarshalIndent with two spaces, or Marshal)."""
    text = json.dumps(value, ensure_ascii=False, indent=2 if indent else None,
                      separators=None if indent else (",", ":"))  # fmt: skip
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    return text


def get_policy_document(args: dict[str, Any]) -> dict[str, Any]:
    """The invoke's result: `json`, `minifiedJson`, `id` and the arguments echoed back."""
    version = _arg(args, "version") or "2012-10-17"
    if version not in VERSIONS:
        raise PolicyDocumentError(f"expected version to be one of {list(VERSIONS)}, got {version}")
    merged = Document()
    sources = _arg(args, "sourcePolicyDocuments") or []
    seen: set[str] = set()
    for index, text in enumerate(sources):
        if text is None:
            continue
        doc = _parsed(text, "source", index)
        for position, statement in enumerate(doc.statements):
            if statement.sid in seen:
                raise PolicyDocumentError(
                    f"merging source document {index}: duplicate Sid ({statement.sid}) in source_policy_documents "
                    f"(statement {position}). Remove the Sid or ensure Sids are unique."
                )
            if statement.sid:
                seen.add(statement.sid)
        merged.merge(doc)
    statements, sids = [], set()
    for raw in _arg(args, "statements") or ():
        statement = _configured_statement(raw, version)
        if statement.sid and statement.sid in sids:
            raise PolicyDocumentError(f"duplicate Sid ({statement.sid}). Remove the Sid or ensure the Sid is unique.")
        sids.add(statement.sid)
        statements.append(statement)
    merged.merge(Document(version, _arg(args, "policyId") or "", statements))
    for index, text in enumerate(_arg(args, "overridePolicyDocuments") or []):
        if text is not None:
            merged.merge(_parsed(text, "override", index))
    text = go_json(merged.to_json(), indent=True)
    result = {"json": text, "minifiedJson": go_json(merged.to_json(), indent=False),
              "id": str(zlib.crc32(text.encode())), "version": version}  # fmt: skip
    for name in ("policyId", "statements", "sourcePolicyDocuments", "overridePolicyDocuments"):
        if _arg(args, name) is not None:
            result[name] = _arg(args, name)
    return result
