"""Names Azure constrains, derived once and deterministically, and the built-in role ids.

Storage accounts (3-24 lowercase letters and digits) and Key Vaults (3-24, letters, digits, hyphens)
have global names and no room for the engine's random suffix, so they are named here from the
project, stack and component name plus a short hash: the same stack gets the same names on every
run, two stacks never collide. Role assignment names must be GUIDs; a uuid5 of the same inputs keeps
them stable (a changed name would recreate the assignment).
"""

import hashlib
import re
import uuid

import pulumi

# Built-in role definition ids (Azure RBAC; the same in every tenant).
ROLES = {
    "servicebus_receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",  # Azure Service Bus Data Receiver
    "servicebus_sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",  # Azure Service Bus Data Sender
    "key_vault_secrets_user": "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    "blob_data_owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",  # Storage Blob Data Owner (host storage)
    "blob_data_contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",  # Storage Blob Data Contributor
    "metrics_publisher": "3913510d-42f4-4e42-8a64-420c390055eb",  # Monitoring Metrics Publisher (App Insights)
    "openai_user": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",  # Cognitive Services OpenAI User
}
# Cosmos DB data-plane roles (sqlRoleDefinitions of the account, not ARM RBAC).
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join((pulumi.get_project(), pulumi.get_stack(), *parts)).encode()).hexdigest()


def compact(prefix: str, name: str, max_len: int = 24) -> str:
    """A global name of letters and digits: `<prefix><name>` squeezed, plus 6 hex of the stack's hash."""
    base = re.sub(r"[^a-z0-9]", "", f"{prefix}{name}".lower())
    return base[: max_len - 6] + _digest(prefix, name)[:6]


def hyphenated(prefix: str, name: str, max_len: int = 24) -> str:
    """A global name with hyphens (Key Vault: starts with a letter, no double or trailing hyphen)."""
    base = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{prefix}-{name}".lower())).strip("-")
    return f"{base[: max_len - 7].rstrip('-')}-{_digest(prefix, name)[:6]}"


def guid(*parts: str) -> str:
    """A stable GUID for a role assignment (its name must be one)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, _digest(*parts)))


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(subscription_id).apply(
        lambda s: f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"
    )
