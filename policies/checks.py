"""Check builders for the commonest resource rule: one property must be true, or hold one value."""

from typing import Any

from skyrelay.policies.props import get, truthy
from skyrelay.policies.rule import ResourceCheck


def requires_true(path: str) -> ResourceCheck:
    """A check that the property at `path` is true (a bool, or the string "true")."""

    def check(args):
        if not truthy(get(args.props, path)):
            yield f"{path} is not true"

    return check


def requires_value(path: str, expected: Any) -> ResourceCheck:
    """A check that the property at `path` equals `expected`."""

    def check(args):
        if get(args.props, path) != expected:
            yield f"{path} is not {expected}"

    return check
