"""Point 3: not built yet."""

from skyrelay.check.model import Row, Status

TITLE = "Prompt caching for system prompts over 1,024 tokens"


def check(subject, *args, **kwargs) -> Row:
    return Row(3, TITLE, Status.warn, ["not built yet"], "")
