"""Provider lookup and the process's TLS context, without importing the aiohttp client.

Both the pooled aiohttp client (`client.py`, the API hot path) and the Lambda worker's stdlib
transport need them; keeping them here lets a cold Lambda worker skip aiohttp's import entirely.
"""

import importlib
import sys

from skyrelay.runtime.providers.base import Adapter, Signer

KINDS = ("bedrock", "azure_openai", "vertex", "openai_compat")

_ADAPTERS: dict[str, tuple[Adapter, Signer]] = {}
_TLS: list = []  # the process's verified client TLS context, once built


def adapter_for(kind: str) -> tuple[Adapter, Signer]:
    """The adapter and signer of a provider kind (module imported on first use)."""
    pair = _ADAPTERS.get(kind)
    if pair is None:
        if kind not in KINDS:
            raise ValueError(f"unknown provider kind {kind!r}")
        mod = importlib.import_module(f"skyrelay.runtime.providers.{kind}")
        pair = _ADAPTERS[kind] = (mod.ADAPTER, mod.SIGNER)
    return pair


def tls_context():
    """The verified client TLS context every HTTPS upstream (and the Lambda AWS client) shares.

    Building one loads the system CA bundle (~25 ms), so it is built once per process, on first
    use: aiohttp's own import-time context when aiohttp is already loaded and made one (a plain
    install), else a new one (the Lambda zip defers aiohttp's, see components/aws/packaging.py)."""
    if not _TLS:
        connector = sys.modules.get("aiohttp.connector")
        ctx = getattr(connector, "_SSL_CONTEXT_VERIFIED", None) if connector else None
        if ctx is None:
            import ssl

            ctx = ssl.create_default_context()
            ctx.set_alpn_protocols(("http/1.1",))
        _TLS.append(ctx)
    return _TLS[0]
