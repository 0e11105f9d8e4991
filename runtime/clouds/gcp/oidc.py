"""Verifying the OIDC bearer Cloud Tasks and Cloud Scheduler send with every push: RS256 over Google's
JWKS, with the standard library only.

Cloud Run checks the token itself when the service requires authentication (the component gives only
the Tasks service account `roles/run.invoker`), but the worker checks it again on every request, so a
misconfigured service (invoker IAM disabled, an allUsers binding) still refuses what did not come
from its queue:
- the signature (RS256 against Google's signing keys: OIDC_CERTS_URL in tests, the peer's JWKS), the
  `iat`/`exp` window and the issuer (https://accounts.google.com or accounts.google.com): any
  failure is 401;
- the audience (OIDC_AUDIENCE: the worker's own URL): 401;
- the identity: `email` must be the Tasks service account and `email_verified` true: 403.

Why not google-auth: on the first push `google.oauth2.id_token` with its `requests` transport and its
`crypt` backends cost ~220 ms of the worker's cold start, for one RSA check. An RS256 verification is
an exponentiation and a byte comparison: `pow(signature, e, n)` must equal the PKCS #1 v1.5 encoding
of the SHA-256 digest (RFC 8017 §8.2.2, the encoding compared whole, never parsed, so no
Bleichenbacher-style forgery gets through). The claim rules are google-auth's `jwt.decode` (iat and exp
required, no clock skew, `aud` one of the expected): tests/gcp_runtime/test_oidc_pinned.py holds the
two to the same verdicts on the same tokens.

The keys (Google's JWKS, https://www.googleapis.com/oauth2/v3/certs: `n`/`e` per `kid`) are fetched
once over `http.client` (in a worker thread: the event loop never waits on the network) and kept for
`CERTS_TTL_S` (Google rotates them over days; a token with an unknown `kid` refetches them, at most
once a minute, so forged tokens cannot drive fetches), so a push costs a signature check, not an HTTP
round trip.
"""

import base64
import hashlib
import hmac
import json
import threading
import time

ISSUERS = ("https://accounts.google.com", "accounts.google.com")
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v3/certs"
CERTS_TTL_S = 3600.0
REFETCH_MIN_S = 60.0  # an unknown kid refetches the keys at most this often (forged tokens cannot drive fetches)
FETCH_TIMEOUT_S = 10.0
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")  # RFC 8017 §9.2 note 1


class Refused(Exception):
    """The push is refused: `status` 401 (no valid token) or 403 (a valid token, the wrong identity)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class UnknownKey(ValueError):
    """The token names a `kid` the cached keys do not hold (they may have rotated)."""


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rsa_keys(jwks: dict) -> dict[str, tuple[int, int]]:
    """{kid: (n, e)} of the RSA signing keys of a JWKS document."""
    out = {}
    for key in jwks.get("keys") or []:
        if key.get("kty") == "RSA" and key.get("use", "sig") == "sig" and key.get("kid"):
            out[key["kid"]] = (int.from_bytes(b64url(key["n"]), "big"), int.from_bytes(b64url(key["e"]), "big"))
    if not out:
        raise ValueError("no RSA signing keys in the JWKS document")
    return out


def rs256_valid(signed: bytes, signature: bytes, n: int, e: int) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2): the whole encoded message compared."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k or k < 256:  # Google's keys are 2048-bit; shorter ones are refused
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(signed).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


def decode(token: str, keys: dict[str, tuple[int, int]], audience: str, now: float | None = None) -> dict:
    """The verified claims of an RS256 JWT, or ValueError (UnknownKey for a `kid` not in `keys`)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    header, payload = json.loads(b64url(parts[0])), json.loads(b64url(parts[1]))
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ValueError("malformed JWT")
    if header.get("alg") != "RS256":
        raise ValueError(f"unsupported algorithm {header.get('alg')!r}")
    kid = header.get("kid")
    candidates = [keys[kid]] if kid in keys else ([] if kid else list(keys.values()))
    if not candidates:
        raise UnknownKey(f"no signing key {kid!r}")
    signed, signature = f"{parts[0]}.{parts[1]}".encode(), b64url(parts[2])
    if not any(rs256_valid(signed, signature, n, e) for n, e in candidates):
        raise ValueError("bad signature")
    now = time.time() if now is None else now
    for claim in ("iat", "exp"):
        if not isinstance(payload.get(claim), (int, float)) or isinstance(payload.get(claim), bool):
            raise ValueError(f"missing or malformed {claim}")
    if now < payload["iat"]:
        raise ValueError("token used too early")
    if payload["exp"] < now:
        raise ValueError("token expired")
    if payload.get("aud") != audience:
        raise ValueError("wrong audience")
    return payload


def fetch_json(url: str, timeout: float = FETCH_TIMEOUT_S) -> tuple[int, bytes]:
    """GET `url` over http.client (HTTPS on the runtime's one verified TLS context)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https":
        from skyrelay.runtime.tls import tls_context

        conn = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=tls_context())
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                     headers={"Accept": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class PushVerifier:
    def __init__(self, audience: str, service_account: str, certs_url: str | None = None,
                 ttl_s: float = CERTS_TTL_S):
        if not audience or not service_account:
            raise ValueError("the push verifier needs the OIDC audience and the Tasks service account")
        self.audience, self.service_account = audience, service_account
        self.certs_url = certs_url or GOOGLE_CERTS_URL
        self.ttl_s = ttl_s
        self._keys: dict | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> dict:
        try:
            status, data = fetch_json(self.certs_url)
        except OSError as exc:
            raise Refused(401, f"signing keys unavailable ({type(exc).__name__})") from None
        if status != 200:
            raise Refused(401, f"signing keys unavailable ({status})")
        try:
            return rsa_keys(json.loads(data))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise Refused(401, "signing keys unreadable") from None

    def _load(self, refresh: bool = False) -> dict:
        with self._lock:
            if refresh or not self._fresh():
                self._keys, self._fetched = self._fetch(), time.monotonic()
            return self._keys

    def _fresh(self) -> bool:
        return self._keys is not None and time.monotonic() - self._fetched <= self.ttl_s

    async def _keys_now(self, refresh: bool = False) -> dict:
        """The cached keys, or fetched in a worker thread (the HTTP call never blocks the event loop)."""
        if not refresh and self._fresh():
            return self._keys
        import asyncio

        return await asyncio.to_thread(self._load, refresh)

    async def verify(self, authorization: str | None) -> dict:
        """The token's claims, or Refused."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "missing bearer token")
        token = token.strip()
        try:
            try:
                claims = decode(token, await self._keys_now(), self.audience)
            except UnknownKey:  # the keys may have rotated
                if time.monotonic() - self._fetched < REFETCH_MIN_S:
                    raise
                claims = decode(token, await self._keys_now(refresh=True), self.audience)
        except Refused:
            raise
        except Exception as exc:  # noqa: BLE001 - base64, JSON and claim errors alike are 401
            raise Refused(401, f"invalid token: {type(exc).__name__}") from None
        if claims.get("iss") not in ISSUERS:
            raise Refused(401, "invalid token: issuer")
        if claims.get("email") != self.service_account or claims.get("email_verified") not in (True, "true"):
            raise Refused(403, "the token is not the Tasks service account's")
        return claims
