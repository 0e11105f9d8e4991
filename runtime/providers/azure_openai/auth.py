"""Azure auth: the `api-key` header, or an Entra ID bearer token (`clouds/azure/entra.py`)."""

from skyrelay.runtime.clouds.azure.entra import EntraTokenCache
from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.base import HttpCall, Upstream

SCOPE = "https://cognitiveservices.azure.com/.default"

_ENTRA = EntraTokenCache(SCOPE)


def use_credential(credential) -> None:
    """Replaces the Entra credential (tests, or a ManagedIdentityCredential chosen by the platform)."""
    global _ENTRA
    _ENTRA = EntraTokenCache(SCOPE, credential)


class AzureSigner:
    async def sign(self, upstream: Upstream, call: HttpCall) -> None:
        if upstream.auth == "entra":
            call.headers["authorization"] = "Bearer " + await _ENTRA.token()
        elif upstream.auth == "api_key":
            if not upstream.api_key:
                raise UpstreamAuth("azure_openai upstream has auth=api_key but no api_key")
            call.headers["api-key"] = upstream.api_key


SIGNER = AzureSigner()
