"""Errors raised by the core. Each names the key it is about, so a user can fix it in one go."""


class ConfigError(ValueError):
    """Invalid stack or runtime configuration, raised before anything is created.

    `key` is the dotted path of the offending setting (for example `skyrelay:budget.amount`),
    `source` the file it came from when known.
    """

    def __init__(self, key: str, message: str, source: str | None = None):
        self.key = key
        self.message = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {message}")


def key_from_pydantic(prefix: str, loc: tuple) -> str:
    """Turns a pydantic error location into the dotted key a user typed, e.g. `skyrelay:tags.team`."""
    key = prefix
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("" if not key or key.endswith((":", ".")) else ".") + str(part)
    return key


def first_error(exc, prefix: str, source: str | None = None) -> ConfigError:
    """The first problem of a pydantic ValidationError as a ConfigError naming its key."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = err["msg"].removeprefix("Value error, ")
    return ConfigError(key_from_pydantic(prefix, loc), msg, source)
