"""Key Vault of AsyncJobs: RBAC authorization (no access policies), purge protection and the longest
soft-delete retention. It holds the Standard Webhooks signing secret (generated once) and one secret
per provider API key (values put out of band). App settings carry only Key Vault references
(`@Microsoft.KeyVault(SecretUri=...)`), which the platform resolves with the function identity (Key
Vault Secrets User on this vault): a value never reaches a setting, the plan or the template."""

import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.components.azure.naming import hyphenated

WEBHOOK_SECRET_NAME = "webhook-signing-secret"
PLACEHOLDER = "set-out-of-band"  # a provider secret's first value: the operator replaces it


@dataclass
class Vault:
    vault: azure_native.keyvault.Vault
    uri: pulumi.Output[str]
    webhook_secret: azure_native.keyvault.Secret
    provider_secrets: dict[str, azure_native.keyvault.Secret] = field(default_factory=dict)


def reference(uri: pulumi.Input[str], secret_name: str) -> pulumi.Output[str]:
    """The app-setting value that makes the platform resolve the secret's latest version."""
    return pulumi.Output.from_input(uri).apply(lambda u: f"@Microsoft.KeyVault(SecretUri={u.rstrip('/')}/secrets/{secret_name})")


def provider_secret_name(provider: str) -> str:
    return "provider-" + "".join(c if c.isalnum() else "-" for c in provider.lower())


def _generated() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(48))


def vault(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], location: str, tenant_id: pulumi.Input[str],
          settings: dict[str, Any], providers: Iterable[str]) -> Vault:
    child = pulumi.ResourceOptions(parent=owner)
    kv = azure_native.keyvault.Vault(
        f"{name}-vault",
        vault_name=hyphenated("kv", name),
        resource_group_name=resource_group,
        location=location,
        properties=azure_native.keyvault.VaultPropertiesArgs(
            tenant_id=tenant_id,
            sku=azure_native.keyvault.SkuArgs(family="A", name=settings["key_vault_sku"]),
            enable_rbac_authorization=settings["key_vault_rbac"],
            enable_purge_protection=settings["key_vault_purge_protection"] or None,  # true, or unset: never false
            enable_soft_delete=True,
            soft_delete_retention_in_days=settings["key_vault_soft_delete_days"],
            public_network_access="Enabled",
        ),
        opts=child,
    )
    uri = kv.name.apply(lambda n: f"https://{n}.vault.azure.net/")

    def secret(resource: str, secret_name: str, value: str, content_type: str) -> azure_native.keyvault.Secret:
        return azure_native.keyvault.Secret(
            resource,
            resource_group_name=resource_group,
            vault_name=kv.name,
            secret_name=secret_name,
            properties=azure_native.keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(value), content_type=content_type),
            # Generated (or put) once; rotating is an explicit operation, not a side effect of `pulumi up`.
            opts=pulumi.ResourceOptions(parent=owner, ignore_changes=["properties.value"],
                                        additional_secret_outputs=["properties"]),
        )

    webhook = secret(f"{name}-webhook", WEBHOOK_SECRET_NAME, _generated(), "Standard Webhooks signing secret")
    providers_ = {p: secret(f"{name}-provider-{p}", provider_secret_name(p), PLACEHOLDER, f"API key for {p}")
                  for p in sorted(set(providers))}
    return Vault(kv, uri, webhook, providers_)


def secret_settings(v: Vault) -> dict[str, pulumi.Output[str]]:
    """WEBHOOK_SECRET and each provider's secret as Key Vault references (contract names)."""
    settings = {contract.WEBHOOK_SECRET: reference(v.uri, WEBHOOK_SECRET_NAME)}
    for provider in v.provider_secrets:
        settings[contract.provider_secret(provider)] = reference(v.uri, provider_secret_name(provider))
    return settings
