"""The policy test harness: render a fixture program (or a stack) once, judge it with the pack.

`judge("aws_violating")` -> (plan, violations) for tests/policies/fixtures/aws_violating; renders
are cached for the session because each fixture is judged by many parametrized cases.
"""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_CACHE: dict = {}


@pytest.fixture
def judge(render_program):
    from skyrelay.plan.policy import evaluate

    def _judge(name: str, config=None, engine: str = "direct"):
        if name not in _CACHE:
            _CACHE[name] = render_program(FIXTURES / name, {})
        plan = _CACHE[name]
        return plan, evaluate(plan, config, engine)

    return _judge


def urn_of(plan, name: str) -> str:
    """The URN of the resource called `name` (the test fails if the program has none)."""
    found = [r.urn for r in plan.resources if r.name == name]
    assert len(found) == 1, f"{name}: {len(found)} resources of that name"
    return found[0]
