"""Secret Manager secrets of AsyncJobs: the Standard Webhooks signing secret (its value generated
once) and one secret per provider API key (values added out of band, never in config).

Each secret has its own accessor bindings (roles/secretmanager.secretAccessor on that secret only,
for the services that read it); services get `secret_key_ref` env entries, never values, so the
value is neither in the plan, nor in the service spec, nor in the revision's environment listing.
"""

import base64
import secrets as _random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.gcp.services import SECRETS, Services


@dataclass
class JobSecrets:
    webhook: gcp.secretmanager.Secret
    webhook_version: gcp.secretmanager.SecretVersion
    providers: dict[str, gcp.secretmanager.Secret]
    accessors: list[gcp.secretmanager.SecretIamMember]

    def env(self) -> dict[str, pulumi.Input[str]]:
        """Env name -> secret id: WEBHOOK_SECRET and provider_secret(name), each a secret_key_ref."""
        refs: dict[str, pulumi.Input[str]] = {contract.WEBHOOK_SECRET: self.webhook.secret_id}
        refs |= {contract.provider_secret(p): s.secret_id for p, s in sorted(self.providers.items())}
        return refs

    def all(self) -> list[gcp.secretmanager.Secret]:
        return [self.webhook, *self.providers.values()]


def secret_id(name: str, what: str) -> str:
    text = "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{name}-{what}")
    return text[:255]


def _secret(owner, resource_name: str, sid: str, project, settings: dict[str, Any],
            services: Services) -> gcp.secretmanager.Secret:
    return gcp.secretmanager.Secret(
        resource_name, secret_id=sid, project=project,
        replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
        deletion_protection=settings["secret_deletion_protection"],
        opts=services.after(SECRETS),
    )


def job_secrets(owner: pulumi.Resource, name: str, *, project: pulumi.Input[str] | None,
                providers: Iterable[str], readers: dict[str, pulumi.Input[str]], settings: dict[str, Any],
                services: Services) -> JobSecrets:
    webhook = _secret(owner, f"{name}-webhook", secret_id(name, "webhook-secret"), project, settings, services)
    # Standard Webhooks: "whsec_" + base64 of 32 random bytes. Generated once at first deploy;
    # rotating is an explicit operation (a new version), not a side effect of `pulumi up`.
    value = "whsec_" + base64.b64encode(_random.token_bytes(32)).decode()
    version = gcp.secretmanager.SecretVersion(
        f"{name}-webhook", secret=webhook.id, secret_data=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=owner, ignore_changes=["secretData"]),
    )
    provider_secrets = {
        p: _secret(owner, f"{name}-provider-{p}", secret_id(name, f"provider-{p}"), project, settings, services)
        for p in sorted(set(providers))
    }
    accessors = [
        gcp.secretmanager.SecretIamMember(
            f"{name}-{key}-{who}-reads", secret_id=secret.id, project=secret.project,
            role="roles/secretmanager.secretAccessor", member=member, opts=pulumi.ResourceOptions(parent=owner),
        )
        for key, secret in (("webhook", webhook), *((f"provider-{p}", s) for p, s in provider_secrets.items()))
        for who, member in sorted(readers.items())
    ]
    return JobSecrets(webhook=webhook, webhook_version=version, providers=provider_secrets, accessors=accessors)
