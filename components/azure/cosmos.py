"""The Cosmos DB (NoSQL) half of AsyncJobs: a serverless account with account keys off, continuous
backup (30 days) and TLS 1.2; the database; the one container the store and the limiter share, shaped
exactly by `deployment.COSMOS_CONTAINER_SPEC` (partition key, TTL, indexes: the runtime's queries
need those and nothing more); and the data-plane role (Built-in Data Contributor) for the function
identity, scoped to the account. Cosmos data-plane RBAC is its own system (sqlRoleAssignments), not
ARM role assignments."""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.components.azure.naming import COSMOS_DATA_CONTRIBUTOR, guid


@dataclass
class Cosmos:
    account: azure_native.cosmosdb.DatabaseAccount
    database: azure_native.cosmosdb.SqlResourceSqlDatabase
    container: azure_native.cosmosdb.SqlResourceSqlContainer
    role_assignment: azure_native.cosmosdb.SqlResourceSqlRoleAssignment
    endpoint: pulumi.Output[str]


def container_resource(name: str, spec: dict = contract.COSMOS_CONTAINER_SPEC) -> azure_native.cosmosdb.SqlContainerResourceArgs:
    """The container's `resource` from the contract's spec (typed args: a misspelt key fails here)."""
    key, policy = spec["partitionKey"], spec["indexingPolicy"]
    return azure_native.cosmosdb.SqlContainerResourceArgs(
        id=name,
        partition_key=azure_native.cosmosdb.ContainerPartitionKeyArgs(
            paths=key["paths"], kind=key["kind"], version=key["version"]),
        default_ttl=spec["defaultTtl"],
        indexing_policy=azure_native.cosmosdb.IndexingPolicyArgs(
            indexing_mode=policy["indexingMode"],
            automatic=policy["automatic"],
            included_paths=[azure_native.cosmosdb.IncludedPathArgs(path=p["path"]) for p in policy["includedPaths"]],
            excluded_paths=[azure_native.cosmosdb.ExcludedPathArgs(path=p["path"]) for p in policy["excludedPaths"]],
            composite_indexes=[[azure_native.cosmosdb.CompositePathArgs(path=c["path"], order=c["order"]) for c in index]
                               for index in policy["compositeIndexes"]],
        ),
    )


def cosmos(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], location: str,
           settings: dict[str, Any], principal_id: pulumi.Input[str]) -> Cosmos:
    child = pulumi.ResourceOptions(parent=owner)
    account = azure_native.cosmosdb.DatabaseAccount(
        f"{name}-cosmos",
        resource_group_name=resource_group,
        location=location,
        kind="GlobalDocumentDB",
        database_account_offer_type="Standard",
        locations=[azure_native.cosmosdb.LocationArgs(location_name=location, failover_priority=0)],
        capabilities=[azure_native.cosmosdb.CapabilityArgs(name="EnableServerless")] if settings["cosmos_serverless"] else None,
        consistency_policy=azure_native.cosmosdb.ConsistencyPolicyArgs(
            default_consistency_level=settings["cosmos_consistency"]),
        disable_local_auth=not settings["cosmos_local_auth"],
        disable_key_based_metadata_write_access=not settings["cosmos_key_based_metadata_writes"],
        minimal_tls_version=settings["cosmos_min_tls"],
        public_network_access=settings["cosmos_public_network_access"],
        backup_policy=azure_native.cosmosdb.ContinuousModeBackupPolicyArgs(
            type="Continuous",
            continuous_mode_properties=azure_native.cosmosdb.ContinuousModePropertiesArgs(
                tier=settings["cosmos_backup_tier"]),
        ),
        opts=child,
    )
    database = azure_native.cosmosdb.SqlResourceSqlDatabase(
        f"{name}-db",
        resource_group_name=resource_group,
        account_name=account.name,
        database_name=settings["cosmos_database"],
        resource=azure_native.cosmosdb.SqlDatabaseResourceArgs(id=settings["cosmos_database"]),
        opts=child,
    )
    container = azure_native.cosmosdb.SqlResourceSqlContainer(
        f"{name}-container",
        resource_group_name=resource_group,
        account_name=account.name,
        database_name=database.name,
        container_name=settings["cosmos_container"],
        resource=container_resource(settings["cosmos_container"]),
        opts=child,
    )
    role = azure_native.cosmosdb.SqlResourceSqlRoleAssignment(
        f"{name}-cosmos-data",
        resource_group_name=resource_group,
        account_name=account.name,
        role_assignment_id=guid(name, "cosmos-data"),
        role_definition_id=account.id.apply(lambda i: f"{i}/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}"),
        scope=account.id,
        principal_id=principal_id,
        opts=child,
    )
    # The account's name is its endpoint's host (documentEndpoint is the same, known only after create).
    endpoint = account.name.apply(lambda n: f"https://{n}.documents.azure.com:443/")
    return Cosmos(account, database, container, role, endpoint)
