"""AWS Bedrock adapter (Converse / ConverseStream, SigV4)."""

from skyrelay.runtime.providers.bedrock.auth import SIGNER
from skyrelay.runtime.providers.bedrock.chat import ADAPTER

__all__ = ["ADAPTER", "SIGNER"]
