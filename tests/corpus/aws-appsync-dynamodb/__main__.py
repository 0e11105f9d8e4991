"""A GraphQL API over DynamoDB (written for skyrelay's corpus)."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
source_name = config.require("dataSourceName")

table = aws.dynamodb.Table(
    "tenants",
    hash_key="id",
    attributes=[aws.dynamodb.TableAttributeArgs(name="id", type="S")],
    read_capacity=1,
    write_capacity=1,
    point_in_time_recovery={"enabled": True},
)

role = aws.iam.Role(
    "appsync-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "appsync.amazonaws.com"}}],
        }
    ),
)
policy = aws.iam.Policy(
    "appsync-table-access",
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": [table.arn]}],
        }
    ),
)
aws.iam.RolePolicyAttachment("appsync-table-access", role=role.name, policy_arn=policy.arn)

SCHEMA = """
type Query { tenant(id: ID!): Tenant }
type Mutation { addTenant(id: ID!, name: String!): Tenant! }
type Tenant { id: ID! name: String }
schema { query: Query mutation: Mutation }
"""

api = aws.appsync.GraphQLApi("tenants-api", authentication_type="API_KEY", schema=SCHEMA)
key = aws.appsync.ApiKey("tenants-key", api_id=api.id)
source = aws.appsync.DataSource(
    "tenants-source",
    name=source_name,
    api_id=api.id,
    type="AMAZON_DYNAMODB",
    dynamodb_config=aws.appsync.DataSourceDynamodbConfigArgs(table_name=table.name),
    service_role_arn=role.arn,
)
for field, kind, operation in (("tenant", "Query", "GetItem"), ("addTenant", "Mutation", "PutItem")):
    aws.appsync.Resolver(
        f"{field}-resolver",
        api_id=api.id,
        data_source=source.name,
        type=kind,
        field=field,
        request_template=json.dumps(
            {"version": "2017-02-28", "operation": operation, "key": {"id": "$util.dynamodb.toDynamoDBJson($ctx.args.id)"}}
        ),
        response_template="$util.toJson($ctx.result)",
    )

pulumi.export("endpoint", api.uris["GRAPHQL"])
pulumi.export("key", key.key)
