"""Job callbacks: Standard Webhooks signing, the SSRF check, and one delivery attempt over aiohttp.

Signature (https://www.standardwebhooks.com): secrets look like `whsec_<base64 key>`; the signed
content is `{webhook-id}.{webhook-timestamp}.{body}` and the header is `v1,<base64 HMAC-SHA256>`.
While a tenant rotates its secret, both secrets sign every delivery and `webhook-signature` holds two
space-separated signatures, so receivers holding either secret verify. `webhook-id` is the same on
every retry of one event, so receivers can deduplicate.
"""

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import orjson

from skyrelay.runtime.errors import BadRequest

log = logging.getLogger("skyrelay.jobs.webhooks")
USER_AGENT = "skyrelay-webhooks/1"


class InvalidCallbackUrl(BadRequest):
    code = "invalid_callback_url"


# ---- signing ----
def secret_key(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError("a webhook secret must be `whsec_` + base64") from None


def new_secret() -> str:
    import os

    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,<sig>` per secret, space separated."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    sigs = [base64.b64encode(hmac.new(secret_key(s), content, hashlib.sha256).digest()).decode() for s in secrets]
    return " ".join(f"v1,{s}" for s in sigs)


def signed_headers(secrets: Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "content-type": "application/json",
               "user-agent": USER_AGENT}
    if secrets:
        headers["webhook-signature"] = sign(secrets, msg_id, ts, body)
    return headers


def event_body(job) -> bytes:
    """The payload: the same bytes on every retry (the event time is the job's finish time)."""
    kind = "job.completed" if job.status.value == "COMPLETE" else "job.failed"
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.finished_at or job.updated_at))
    data = job.public()
    data.pop("webhook", None)
    data.pop("updated_at", None)
    return orjson.dumps({"type": kind, "timestamp": ts, "data": data})


# ---- SSRF ----
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")


def canonical_host(host: str, bracketed: bool) -> str:
    """`host` (lower-case, as urlsplit gives it) if it is in canonical form: dotted-decimal IPv4, an IPv6
    literal, or a DNS name of letters, digits and hyphens whose last label is not a number. Anything a
    resolver or URL parser might read differently (`127.1`, `2130706433`, `0177.0.0.1`, `0x7f.1`,
    percent-escapes, underscores) is refused: the check and the connection must see the same address."""
    if bracketed:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise InvalidCallbackUrl("callback_url: not a canonical IPv6 address") from None
    try:
        if str(ipaddress.IPv4Address(host)) == host:
            return host
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if (len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels)
            or _NUMBER.fullmatch(labels[-1])):
        raise InvalidCallbackUrl(f"callback_url: {host!r} is not a canonical host (dotted-decimal IPv4, "
                                 "[IPv6] or a DNS name)")
    return host


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or not ip.is_global)


class CallbackPolicy:
    """Checks a callback URL: scheme, no credentials, and every address its host resolves to.

    A host name in `allow_hosts` is accepted as is; a CIDR there admits the addresses inside it
    (e.g. `127.0.0.1/32` for a loopback receiver in development).
    """

    def __init__(self, allow_hosts: Sequence[str] = (), require_https: bool = False):
        self.names = set()
        self.networks = []
        for entry in allow_hosts:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry.lower().rstrip("."))
        self.require_https = require_https

    def _allowed(self, ip) -> bool:
        return any(ip in net for net in self.networks if net.version == ip.version)

    def refused(self, host: str, addrs) -> str | None:
        """The first address of `host` that is not allowed (as text), or None when all are."""
        if host.lower().rstrip(".") in self.names:
            return None
        for addr in addrs:
            ip = ipaddress.ip_address(str(addr).split("%")[0])
            if _blocked(ip) and not self._allowed(ip):
                return str(ip)
        return None

    async def _resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        return [info[4][0] for info in infos]

    async def check(self, url) -> str:
        if not isinstance(url, str) or not url or len(url) > 2048:
            raise InvalidCallbackUrl("callback_url: must be an http(s) URL of at most 2048 characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidCallbackUrl("callback_url: not a valid URL") from None
        schemes = ("https",) if self.require_https else ("http", "https")
        if parts.scheme not in schemes:
            raise InvalidCallbackUrl(f"callback_url: scheme must be {' or '.join(schemes)}")
        if parts.username or parts.password:
            raise InvalidCallbackUrl("callback_url: credentials in the URL are not allowed")
        host = (parts.hostname or "").lower()
        if not host:
            raise InvalidCallbackUrl("callback_url: missing host")
        host = canonical_host(host, "[" in parts.netloc).rstrip(".")
        if host in self.names:
            return url
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            addrs = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addrs = await self._resolve(host, port)
            except OSError:
                raise InvalidCallbackUrl(f"callback_url: host {host!r} does not resolve") from None
        if self.refused(host, addrs):
            raise InvalidCallbackUrl(
                f"callback_url: {host!r} resolves to a private, loopback, link-local or reserved address")
        return url


class BlockedAddress(OSError):
    """A callback host resolved, at connect time, to an address the policy refuses."""


def pinned_resolver(policy: CallbackPolicy, inner=None):
    """An aiohttp resolver that checks every address it hands the connector against `policy`.

    aiohttp connects only to the addresses its resolver returns, so the addresses checked are the
    addresses used: a DNS answer that changes between the submit-time check and the connection (DNS
    rebinding) cannot reach a private address. `inner` is the resolver doing the lookups (aiohttp's
    default one unless given). IP literals never reach a resolver; `CallbackPolicy.check` covers them.
    """
    from aiohttp.abc import AbstractResolver
    from aiohttp.resolver import DefaultResolver

    class PinnedResolver(AbstractResolver):
        def __init__(self):
            self.inner = inner or DefaultResolver()

        async def resolve(self, host, port=0, family=0):
            import socket

            results = await self.inner.resolve(host, port, family or socket.AF_UNSPEC)
            bad = policy.refused(host, [r["host"] for r in results])
            if bad is not None:
                raise BlockedAddress(f"callback host {host.rstrip('.')!r} resolved to {bad}, a private, loopback, "
                                     "link-local or reserved address")
            return results

        async def close(self):
            await self.inner.close()

    return PinnedResolver()


# ---- delivery ----
class WebhookSender:
    """One pooled aiohttp session; `deliver` makes one attempt and returns its record."""

    def __init__(self, policy: CallbackPolicy, timeout_s: float = 10.0, resolver=None):
        self.policy = policy
        self.timeout_s = timeout_s
        self.resolver = resolver  # the lookups under the pinning resolver (tests inject one)
        self._session = None

    def _client(self):
        if self._session is None or self._session.closed:
            import aiohttp

            # Every address the connector may use passes the policy (pinned_resolver); cached answers
            # passed it when they were resolved. No proxies from the environment (trust_env=False).
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), trust_env=False,
                connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=60,
                                               resolver=pinned_resolver(self.policy, self.resolver)))
        return self._session

    async def deliver(self, url: str, msg_id: str, body: bytes, secrets: Sequence[str]) -> dict:
        t0 = time.perf_counter()
        record = {"at": time.time(), "status": None, "error": None, "ms": 0.0, "ok": False}
        try:
            await self.policy.check(url)  # again at delivery: DNS may have changed since submit
            headers = signed_headers(secrets, msg_id, body)
            async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                record["status"] = resp.status
                record["ok"] = 200 <= resp.status < 300
                if not record["ok"]:
                    record["error"] = f"HTTP {resp.status}"
        except InvalidCallbackUrl as exc:
            record["error"] = exc.message
            record["blocked"] = True
        except OSError as exc:  # aiohttp wraps the resolver's refusal in a ClientConnectorError
            blocked = exc if isinstance(exc, BlockedAddress) else getattr(exc, "os_error", None)
            if isinstance(blocked, BlockedAddress):
                record["error"] = str(blocked)
                record["blocked"] = True
            else:
                record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        except Exception as exc:  # network errors are the receiver's problem: record and retry
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        record["ms"] = round((time.perf_counter() - t0) * 1000, 2)
        return record

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
