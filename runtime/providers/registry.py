"""Provider lookup, without importing the aiohttp client.

Both the pooled aiohttp client (`client.py`, the API hot path) and the Lambda worker's stdlib
transport need it; keeping it here lets a cold Lambda worker skip aiohttp's import entirely.
"""

import importlib

from skyrelay.runtime.providers.base import Adapter, Signer

KINDS = ("bedrock", "azure_openai", "vertex", "openai_compat")

_ADAPTERS: dict[str, tuple[Adapter, Signer]] = {}


def adapter_for(kind: str) -> tuple[Adapter, Signer]:
    """The adapter and signer of a provider kind (module imported on first use)."""
    pair = _ADAPTERS.get(kind)
    if pair is None:
        if kind not in KINDS:
            raise ValueError(f"unknown provider kind {kind!r}")
        mod = importlib.import_module(f"skyrelay.runtime.providers.{kind}")
        pair = _ADAPTERS[kind] = (mod.ADAPTER, mod.SIGNER)
    return pair
