"""Batch inference parts of AsyncJobs on Azure (issue 13, docs/batch.md): the blob container of the
batcher's JSONL in the function's storage account (shared keys off, TLS 1.2, no public access), a
lifecycle rule that deletes its blobs a day after the job records expire, and, when the stack names
an Azure OpenAI account, read/write access to the container for that account's system identity
(Azure OpenAI batch jobs read Blob input and write their output folder with it: a user-assigned
identity is not supported there). BATCH_BUCKET carries the container's URL.

The GlobalBatch deployment itself is the blueprint's (it owns the Azure OpenAI account): see
`openai_deployments` in blueprints/azure.py."""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from skyrelay.components.azure.naming import guid, role_definition_id


@dataclass
class BatchStorage:
    container: azure_native.storage.BlobContainer
    lifecycle: azure_native.storage.ManagementPolicy
    url: pulumi.Output[str]  # https://<account>.blob.core.windows.net/<container>
    openai_access: azure_native.authorization.RoleAssignment | None


def batch_storage(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str],
                  storage: azure_native.storage.StorageAccount, blob_endpoint: pulumi.Input[str],
                  settings: dict[str, Any], subscription_id: pulumi.Input[str],
                  openai_principal_id: pulumi.Input[str] | None) -> BatchStorage:
    child = pulumi.ResourceOptions(parent=owner)
    container_name = settings["batch_container"]
    container = azure_native.storage.BlobContainer(
        f"{name}-batch-container",
        account_name=storage.name,
        resource_group_name=resource_group,
        container_name=container_name,
        public_access="None",
        opts=child,
    )
    lifecycle = azure_native.storage.ManagementPolicy(
        f"{name}-batch-expiry",
        account_name=storage.name,
        resource_group_name=resource_group,
        management_policy_name="default",  # the only name Azure accepts
        policy=azure_native.storage.ManagementPolicySchemaArgs(rules=[azure_native.storage.ManagementPolicyRuleArgs(
            name="batch-expiry",
            type="Lifecycle",
            enabled=True,
            definition=azure_native.storage.ManagementPolicyDefinitionArgs(
                actions=azure_native.storage.ManagementPolicyActionArgs(
                    base_blob=azure_native.storage.ManagementPolicyBaseBlobArgs(
                        delete=azure_native.storage.DateAfterModificationArgs(
                            days_after_modification_greater_than=settings["batch_object_expiry_days"]))),
                filters=azure_native.storage.ManagementPolicyFilterArgs(
                    blob_types=["blockBlob"], prefix_match=[f"{container_name}/"]),
            ),
        )]),
        opts=child,
    )
    url = pulumi.Output.concat(blob_endpoint, container_name)
    access = None
    if openai_principal_id is not None:
        scope = pulumi.Output.concat(storage.id, "/blobServices/default/containers/", container_name)
        access = azure_native.authorization.RoleAssignment(
            f"{name}-openai-batch-blob",
            role_assignment_name=guid(name, "openai-batch-blob"),
            scope=scope,
            role_definition_id=role_definition_id(subscription_id, "blob_data_contributor"),
            principal_id=openai_principal_id,
            principal_type="ServicePrincipal",
            opts=pulumi.ResourceOptions(parent=owner, depends_on=[container]),
        )
    return BatchStorage(container, lifecycle, url, access)
