"""`skyrelay check`: the seed's eight-point production checklist, judged on a rendered stack.

One module per point (p1_async ... p8_batch); `run` calls them in order. See docs/readiness.md.
"""

from skyrelay.check.model import CheckInputError, Row, Status
from skyrelay.check.runner import Options, run
from skyrelay.check.subject import Subject, subject_of

__all__ = ["CheckInputError", "Options", "Row", "Status", "Subject", "run", "subject_of"]
