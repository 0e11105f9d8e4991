"""The function identity and what it may do: one user-assigned managed identity, and one Azure RBAC
role assignment per (scope, role), each scoped to the one resource that needs it (a namespace, a
vault, a storage account), never the resource group."""

import pulumi
import pulumi_azure_native as azure_native

from skyrelay.components.azure.naming import guid, role_definition_id


def identity(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str],
             location: str) -> azure_native.managedidentity.UserAssignedIdentity:
    return azure_native.managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_group_name=resource_group,
        location=location,
        opts=pulumi.ResourceOptions(parent=owner),
    )


def grant(owner: pulumi.Resource, name: str, scope: pulumi.Input[str], role: str,
          principal_id: pulumi.Input[str], subscription_id: pulumi.Input[str]) -> azure_native.authorization.RoleAssignment:
    """`role` (a key of naming.ROLES) on `scope` for a service principal (the managed identity)."""
    return azure_native.authorization.RoleAssignment(
        f"{name}-{role.replace('_', '-')}",
        role_assignment_name=guid(name, role),
        scope=scope,
        role_definition_id=role_definition_id(subscription_id, role),
        principal_id=principal_id,
        principal_type="ServicePrincipal",  # a new identity may not have replicated yet: skip the lookup
        opts=pulumi.ResourceOptions(parent=owner),
    )
