"""Point 6: not built yet."""

from skyrelay.check.model import Row, Status

TITLE = "P99 measured and the SLA documented per endpoint"


def check(subject, *args, **kwargs) -> Row:
    return Row(6, TITLE, Status.warn, ["not built yet"], "")
