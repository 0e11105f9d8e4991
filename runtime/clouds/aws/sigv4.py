"""AWS Signature Version 4 for the runtime's own AWS calls: DynamoDB, SQS and Secrets Manager
(`clouds/aws/json_client.py`) and Bedrock (`providers/bedrock/auth.py`).

Why not botocore's signer: importing `botocore.auth` costs ~230 ms in a cold Lambda, nearly the
worker's whole cold-start budget, and the worker signs on its first job. This is the same algorithm
as botocore's `SigV4Auth` (non-S3: every request header signed except hop-by-hop and tracing ones,
plus `host`; the path's dot segments removed and percent-encoded once more; the query's pairs
sorted as they are; no `x-amz-content-sha256` header), and tests/aws/test_sigv4.py checks its output byte for byte
against botocore's for the requests the runtime makes.
"""

import hashlib
import hmac
import time
from urllib.parse import quote, urlsplit

# botocore 1.44's SIGNED_HEADERS_BLACKLIST, plus the authorization header being replaced
UNSIGNED_HEADERS = frozenset({
    "authorization", "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
})
DEFAULT_PORTS = {"http": 80, "https": 443}


def sign(method: str, url: str, headers: dict[str, str], body: bytes, credentials: tuple[str, str, str | None],
         region: str, service: str, now: float | None = None) -> dict[str, str]:
    """The headers to add to the request: `authorization`, `x-amz-date` and, with a session token,
    `x-amz-security-token` (all lower case)."""
    key, secret, token = credentials
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    day = amz_date[:8]
    parts = urlsplit(url)
    added = {"x-amz-date": amz_date, **({"x-amz-security-token": token} if token else {})}
    signed_headers = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()
                      if k.lower() not in UNSIGNED_HEADERS and k.lower() not in added}
    signed_headers.setdefault("host", _host(parts))
    signed_headers.update(added)
    names = sorted(signed_headers)
    canonical = "\n".join([
        method.upper(), _canonical_path(parts.path), _canonical_query(parts.query),
        *(f"{n}:{signed_headers[n]}" for n in names), "", ";".join(names), hashlib.sha256(body or b"").hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return {**added, "authorization": f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                                      f"SignedHeaders={';'.join(names)}, Signature={signature}"}


def _host(parts) -> str:
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        return f"{parts.hostname}:{parts.port}"
    return parts.hostname or ""


def _canonical_path(path: str) -> str:
    """RFC 3986 dot-segment removal (empty segments dropped, as botocore does), then quoted."""
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    normalized = ("/" if path[0] == "/" else "") + "/".join(out) + ("/" if path[-1] == "/" and out else "")
    return quote(normalized, safe="/~")


def _canonical_query(query: str) -> str:
    """The URL's own query pairs, sorted, as they are encoded in the URL."""
    pairs = sorted(item.partition("=")[::2] for item in query.split("&")) if query else []
    return "&".join(f"{k}={v}" for k, v in pairs)
