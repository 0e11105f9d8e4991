"""The offline plan: render a Pulumi program under mocks, capture every resource, report on it.

Top floor with skyrelay.cli: it may import everything, and nothing but tests and the CLI imports it.
"""

from skyrelay.plan.model import Plan, PlannedResource
from skyrelay.plan.render import ProgramError, render_program, render_stack

__all__ = ["Plan", "PlannedResource", "ProgramError", "render_program", "render_stack"]
