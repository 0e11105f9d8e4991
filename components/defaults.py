"""The defaults mechanism every component shares (the per-cloud values live in <cloud>/defaults.py).

Learned from AWS Solutions Constructs: final settings = defaults overridden by the user, and each
override of a secure default logs a warning that names it. The same tables generate the
"Default settings" section of each component's README, so docs cannot drift from code.
"""

from dataclasses import dataclass
from typing import Any

import pulumi

from skyrelay.errors import ConfigError


@dataclass(frozen=True)
class Default:
    value: Any
    why: str
    secure: bool = False  # overriding it weakens the security posture: warn


def resolve(component: str, table: dict[str, Default], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The table's values with `overrides` applied. Unknown keys fail, naming the key."""
    settings = {key: d.value for key, d in table.items()}
    for key, value in (overrides or {}).items():
        if key not in table:
            raise ConfigError(f"{component}.overrides.{key}", f"unknown setting; known: {', '.join(sorted(table))}")
        if table[key].secure and value != table[key].value:
            pulumi.log.warn(
                f"{component}: overriding the secure default {key}={table[key].value!r} with {value!r}"
            )
        settings[key] = value
    return settings


def markdown_table(table: dict[str, Default]) -> str:
    """The "Default settings" table for a component README."""
    lines = ["| Setting | Default | Secure default | Why |", "|---|---|---|---|"]
    for key, d in table.items():
        lines.append(f"| `{key}` | `{d.value!r}` | {'yes' if d.secure else ''} | {d.why} |")
    return "\n".join(lines)
