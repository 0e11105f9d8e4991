"""A Logic App with an HTTP trigger that writes the body into a Cosmos DB container
(written for skyrelay's corpus)."""

import pulumi
from pulumi_azure_native import authorization, logic, resources, web
from pulumi_azure_native import cosmosdb as documentdb

group = resources.ResourceGroup("logic-rg")
account = documentdb.DatabaseAccount(
    "logic-cosmos",
    resource_group_name=group.name,
    database_account_offer_type=documentdb.DatabaseAccountOfferType.STANDARD,
    locations=[documentdb.LocationArgs(location_name=group.location, failover_priority=0)],
    consistency_policy=documentdb.ConsistencyPolicyArgs(
        default_consistency_level=documentdb.DefaultConsistencyLevel.SESSION
    ),
    backup_policy=documentdb.ContinuousModeBackupPolicyArgs(type="Continuous"),
)
database = documentdb.SqlResourceSqlDatabase(
    "posts-db", resource_group_name=group.name, account_name=account.name,
    resource=documentdb.SqlDatabaseResourceArgs(id="posts"),
)
container = documentdb.SqlResourceSqlContainer(
    "posts",
    resource_group_name=group.name,
    account_name=account.name,
    database_name=database.name,
    resource=documentdb.SqlContainerResourceArgs(
        id="posts", partition_key=documentdb.ContainerPartitionKeyArgs(paths=["/tenant"], kind="Hash")
    ),
)
keys = documentdb.list_database_account_keys_output(account_name=account.name, resource_group_name=group.name)

client = authorization.get_client_config()
managed_api = pulumi.Output.concat(
    "/subscriptions/", client.subscription_id, "/providers/Microsoft.Web/locations/", group.location,
    "/managedApis/documentdb",
)
connection = web.Connection(
    "cosmos-connection",
    resource_group_name=group.name,
    properties=web.ApiConnectionDefinitionPropertiesArgs(
        display_name="cosmos",
        api=web.ApiReferenceArgs(id=managed_api),
        parameter_values={"databaseAccount": account.name, "accessKey": keys.primary_master_key},
    ),
)
workflow = logic.Workflow(
    "posts-workflow",
    resource_group_name=group.name,
    definition={
        "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"$connections": {"defaultValue": {}, "type": "Object"}},
        "triggers": {"post": {"type": "Request", "kind": "Http", "inputs": {"method": "POST"}}},
        "actions": {
            "write": {
                "type": "ApiConnection",
                "inputs": {
                    "body": {"data": "@triggerBody()", "id": "@utcNow()"},
                    "host": {"connection": {"name": "@parameters('$connections')['documentdb']['connectionId']"}},
                    "method": "post",
                    "path": pulumi.Output.all(database.name, container.name).apply(lambda n: f"/dbs/{n[0]}/colls/{n[1]}/docs"),
                },
            }
        },
    },
    parameters={
        "$connections": logic.WorkflowParameterArgs(
            value={"documentdb": {"connectionId": connection.id, "connectionName": "cosmos", "id": managed_api}}
        )
    },
)
callback = logic.list_workflow_trigger_callback_url_output(
    resource_group_name=group.name, workflow_name=workflow.name, trigger_name="post"
)

pulumi.export("tenant", client.tenant_id)
pulumi.export("endpoint", callback.value)
