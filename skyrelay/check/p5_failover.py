"""Point 5: not built yet."""

from skyrelay.check.model import Row, Status

TITLE = "Failover tested"


def check(subject, *args, **kwargs) -> Row:
    return Row(5, TITLE, Status.warn, ["not built yet"], "")
