"""Pulumi program for every skyrelay stack; the stack's `skyrelay:cloud` picks the blueprint."""

from skyrelay.blueprints.program import run

run()
