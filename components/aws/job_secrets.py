"""Secrets Manager secrets of AsyncJobs: the webhook signing secret (generated once) and one secret
per provider API key (values put out of band). Functions get ARNs in their environment, never values."""

from collections.abc import Iterable
from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay import deployment


def _secret(owner: pulumi.Resource, resource_name: str, description: str, settings: dict[str, Any],
            kms: pulumi.Input[str] | None) -> aws.secretsmanager.Secret:
    return aws.secretsmanager.Secret(
        resource_name,
        description=description,
        kms_key_id=kms,
        recovery_window_in_days=settings["secret_recovery_window_days"],
        opts=pulumi.ResourceOptions(parent=owner),
    )


def webhook_secret(owner: pulumi.Resource, name: str, settings: dict[str, Any],
                   kms: pulumi.Input[str] | None) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
    """The Standard Webhooks signing secret and its generated value."""
    secret = _secret(owner, f"{name}-webhook", "Standard Webhooks signing secret (whsec) for job callbacks",
                     settings, kms)
    random = aws.secretsmanager.get_random_password_output(
        password_length=48, exclude_punctuation=True, opts=pulumi.InvokeOutputOptions(parent=owner)
    )
    version = aws.secretsmanager.SecretVersion(
        f"{name}-webhook",
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(random.random_password),
        # Generated once; rotating is an explicit operation, not a side effect of `pulumi up`.
        opts=pulumi.ResourceOptions(parent=owner, ignore_changes=["secretString"]),
    )
    return secret, version


def provider_secrets(owner: pulumi.Resource, name: str, providers: Iterable[str], settings: dict[str, Any],
                     kms: pulumi.Input[str] | None) -> dict[str, aws.secretsmanager.Secret]:
    return {
        provider: _secret(owner, f"{name}-provider-{provider}",
                          f"API key for the {provider} provider (put the value out of band)", settings, kms)
        for provider in providers
    }


def provider_secret_env(secrets: dict[str, aws.secretsmanager.Secret]) -> dict[str, pulumi.Input[str]]:
    """One variable per provider, holding the secret's ARN (never its value), named by the deployment
    contract (`secret_ref(provider_secret(name))`); the runtime reads the values at cold start."""
    return {deployment.secret_ref(deployment.provider_secret(p)): s.arn for p, s in sorted(secrets.items())}
