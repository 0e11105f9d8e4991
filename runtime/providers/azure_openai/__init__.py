"""Azure OpenAI adapter (deployments path, api-key or Entra ID)."""

from skyrelay.runtime.providers.azure_openai.auth import SIGNER
from skyrelay.runtime.providers.azure_openai.chat import ADAPTER

__all__ = ["ADAPTER", "SIGNER"]
