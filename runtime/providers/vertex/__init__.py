"""Vertex AI Gemini adapter (generateContent / streamGenerateContent, Google OAuth)."""

from skyrelay.runtime.providers.vertex.auth import SIGNER
from skyrelay.runtime.providers.vertex.chat import ADAPTER

__all__ = ["ADAPTER", "SIGNER"]
