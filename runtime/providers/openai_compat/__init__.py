"""OpenAI-compatible adapter (configurable base URL, bearer key)."""

from skyrelay.runtime.providers.openai_compat.chat import ADAPTER, SIGNER

__all__ = ["ADAPTER", "SIGNER"]
