"""The query string of the list routes (GET /v1/jobs, /v1/files, /v1/batches): one parse, one rule
for `limit`, so every list answers a bad page size with the same 400."""

from urllib.parse import parse_qs

from skyrelay.runtime.errors import ValidationFailed


def list_query(scope, max_limit: int, default: int = 20) -> tuple[int, dict[str, list[str]]]:
    """(limit, the parsed query): `limit` must be an integer in 1..max_limit."""
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        limit = int(q.get("limit", [str(default)])[0])
    except ValueError:
        raise ValidationFailed("limit: must be an integer") from None
    if not 1 <= limit <= max_limit:
        raise ValidationFailed(f"limit: must be between 1 and {max_limit}")
    return limit, q
