"""The corpus (tests/corpus/): each program, the `--config` a user passes, and what its plan must show.

Expected violations are what the pack's rules should flag in each program, written
"<m|a> <policy> <type::name>" (m mandatory, a advisory; "(stack)" for stack-wide findings). Each
program deploys to one cloud with no budget, so `stack-budget-alerts` and `stack-cost-anomaly-alert`
flag every one; the other findings are the program's own (untagged resources, public invokers,
wildcard IAM actions, ...). `a stack-tier-max-tokens-cap (stack)` is an "unknown at preview"
advisory: the rule reads environment values the plan cannot know (of app settings it reads only
the cap settings, so an unknown client id does not stop it).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    config: dict[str, str]
    resources: int
    violations: set[str]
    unknown: set[str] = field(default_factory=set)  # "type::name input.path" unknown at preview
    invokes: set[str] = field(default_factory=set)  # "token answer"
    exit: int = 1


CASES = {
    "aws-apigw-rest-lambda": Case(
        config={"aws:region": "us-west-2"},
        resources=12,
        violations={
            "m aws-apigw-method-auth aws:apigatewayv2/route:Route::http-proxy",  # authorization NONE
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m aws-apigw-access-logs aws:apigateway/stage:Stage::rest-stage",
            "m aws-apigw-access-logs aws:apigatewayv2/stage:Stage::http-stage",
            "m aws-apigw-usage-plan-throttle aws:apigateway/restApi:RestApi::rest",
            "m aws-lambda-log-retention aws:lambda/function:Function::handler",
            "m aws-lambda-reserved-concurrency aws:lambda/function:Function::handler",
            "m tags-required aws:apigateway/restApi:RestApi::rest",
            "m tags-required aws:apigateway/stage:Stage::rest-stage",
            "m tags-required aws:apigatewayv2/api:Api::http",
            "m tags-required aws:apigatewayv2/stage:Stage::http-stage",
            "m tags-required aws:iam/role:Role::handler-role",
            "m tags-required aws:lambda/function:Function::handler",
            "a aws-lambda-tracing aws:lambda/function:Function::handler",
        },
        unknown={"aws:lambda/permission:Permission::http-invoke sourceArn"},
        invokes=set(),
    ),
    # Point-in-time recovery is on; KMS encryption is not.
    "aws-appsync-dynamodb": Case(
        config={"aws:region": "us-west-2", "dataSourceName": "tenants"},
        resources=9,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m aws-dynamodb-encryption aws:dynamodb/table:Table::tenants",
            "m tags-required aws:appsync/graphQLApi:GraphQLApi::tenants-api",
            "m tags-required aws:dynamodb/table:Table::tenants",
            "m tags-required aws:iam/policy:Policy::appsync-table-access",
            "m tags-required aws:iam/role:Role::appsync-role",
            "a aws-dynamodb-ttl aws:dynamodb/table:Table::tenants",
        },
        unknown=set(),
        invokes=set(),
    ),
    "aws-s3-website": Case(
        config={"aws:region": "us-west-2"},
        resources=6,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m tags-required aws:s3/bucketObject:BucketObject::404.html",
            "m tags-required aws:s3/bucketObject:BucketObject::index.html",
            # a public website bucket: unencrypted, plain HTTP allowed, public access open, no expiry
            "m aws-s3-encryption aws:s3/bucket:Bucket::site",
            "m aws-s3-tls-only aws:s3/bucket:Bucket::site",
            "m aws-s3-public-access-block aws:s3/bucket:Bucket::site",
            "a aws-s3-lifecycle aws:s3/bucket:Bucket::site",
        },
        unknown=set(),
        invokes=set(),
    ),
    "aws-serverless-dynamodb": Case(
        config={"aws:region": "us-west-2"},
        resources=8,
        violations={
            "m aws-iam-no-wildcard-actions aws:iam/rolePolicy:RolePolicy::counter-access",  # logs:*
            "m aws-dynamodb-pitr aws:dynamodb/table:Table::counters",
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m aws-apigw-access-logs aws:apigateway/stage:Stage::counter-stage",
            "m aws-apigw-usage-plan-throttle aws:apigateway/restApi:RestApi::counter-api",
            "m aws-dynamodb-encryption aws:dynamodb/table:Table::counters",
            "m aws-lambda-log-retention aws:lambda/function:Function::counter",
            "m aws-lambda-reserved-concurrency aws:lambda/function:Function::counter",
            "m tags-required aws:apigateway/restApi:RestApi::counter-api",
            "m tags-required aws:apigateway/stage:Stage::counter-stage",
            "m tags-required aws:dynamodb/table:Table::counters",
            "m tags-required aws:iam/role:Role::counter-role",
            "m tags-required aws:lambda/function:Function::counter",
            "a aws-dynamodb-ttl aws:dynamodb/table:Table::counters",
            "a aws-lambda-tracing aws:lambda/function:Function::counter",
        },
        unknown=set(),
        invokes={"aws:iam/getPolicyDocument:getPolicyDocument computed"},
    ),
    "aws-stepfunctions": Case(
        config={"aws:region": "us-west-2"},
        resources=6,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m aws-lambda-log-retention aws:lambda/function:Function::hello-task",
            "m aws-lambda-reserved-concurrency aws:lambda/function:Function::hello-task",
            "m tags-required aws:iam/role:Role::machine-role",
            "m tags-required aws:iam/role:Role::task-role",
            "m tags-required aws:lambda/function:Function::hello-task",
            "m tags-required aws:sfn/stateMachine:StateMachine::machine",
            "a aws-lambda-tracing aws:lambda/function:Function::hello-task",
        },
        unknown=set(),
        invokes=set(),
    ),
    "aws-vpc-ecr-webserver": Case(
        config={"aws:region": "us-west-2"},
        resources=12,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m tags-required aws:ec2/instance:Instance::web-server",
            "m tags-required aws:ec2/internetGateway:InternetGateway::gateway",
            "m tags-required aws:ec2/routeTable:RouteTable::public",
            "m tags-required aws:ec2/securityGroup:SecurityGroup::web",
            "m tags-required aws:ec2/subnet:Subnet::public-1",
            "m tags-required aws:ec2/subnet:Subnet::public-2",
            "m tags-required aws:ec2/vpc:Vpc::vpc",
            "m tags-required aws:ecr/repository:Repository::images",
        },
        unknown={"aws:ec2/instance:Instance::web-server ami"},
        invokes={
            "aws:ec2/getAmi:getAmi unknown",
            "aws:index/getCallerIdentity:getCallerIdentity context",
            "aws:index/getPartition:getPartition computed",
            "aws:index/getRegion:getRegion context",
        },
    ),
    "azure-appservice-sql": Case(
        config={"sqlPassword": "S3cret-for-plan"},
        resources=9,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m tags-required azure-native:applicationinsights:Component::app-insights",
            "m tags-required azure-native:resources:ResourceGroup::app-rg",
            "m tags-required azure-native:sql:Database::app-db",
            "m tags-required azure-native:sql:Server::app-sql",
            "m tags-required azure-native:storage:StorageAccount::appsa",
            "m tags-required azure-native:web:AppServicePlan::app-plan",
            "m tags-required azure-native:web:WebApp::app",
            "m azure-storage-shared-key-off azure-native:storage:StorageAccount::appsa",
            "m azure-storage-min-tls azure-native:storage:StorageAccount::appsa",
        },
        unknown={
            "azure-native:web:WebApp::app siteConfig.appSettings[0].value",
            "azure-native:web:WebApp::app siteConfig.appSettings[1].value",
            "azure-native:web:WebApp::app siteConfig.appSettings[2].value",
        },
        invokes={"azure-native:storage:listStorageAccountServiceSAS unknown"},
    ),
    "azure-cosmos-logicapp": Case(
        config={},
        resources=6,
        violations={
            # continuous backup is set; key-based auth is not disabled:
            "m azure-cosmos-local-auth-disabled azure-native:cosmosdb:DatabaseAccount::logic-cosmos",
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m tags-required azure-native:cosmosdb:DatabaseAccount::logic-cosmos",
            "m tags-required azure-native:cosmosdb:SqlResourceSqlContainer::posts",
            "m tags-required azure-native:cosmosdb:SqlResourceSqlDatabase::posts-db",
            "m tags-required azure-native:logic:Workflow::posts-workflow",
            "m tags-required azure-native:resources:ResourceGroup::logic-rg",
            "m tags-required azure-native:web:Connection::cosmos-connection",
        },
        unknown={"azure-native:web:Connection::cosmos-connection properties.parameterValues.accessKey"},
        invokes={
            "azure-native:authorization:getClientConfig context",
            "azure-native:cosmosdb:listDatabaseAccountKeys unknown",
            "azure-native:logic:listWorkflowTriggerCallbackUrl unknown",
        },
    ),
    # https_only, TLS 1.2 and a managed identity: no Function App finding.
    "azure-functions-storage-keys": Case(
        config={},
        resources=4,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m tags-required azure-native:resources:ResourceGroup::functions-rg",
            "m tags-required azure-native:storage:StorageAccount::functionssa",
            "m tags-required azure-native:web:AppServicePlan::functions-plan",
            "m tags-required azure-native:web:WebApp::functions-app",
            "m azure-storage-shared-key-off azure-native:storage:StorageAccount::functionssa",  # keys in app settings
        },
        unknown={"azure-native:web:WebApp::functions-app siteConfig.appSettings[2].value"},
        invokes={"azure-native:storage:listStorageAccountKeys unknown"},
    ),
    # Every taggable resource is tagged; the budget rules and its storage account's defaults flag it.
    "azure-static-website-cdn": Case(
        config={},
        resources=7,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m azure-storage-shared-key-off azure-native:storage:StorageAccount::sitesa",
            "m azure-storage-min-tls azure-native:storage:StorageAccount::sitesa",
        },
        unknown={
            "azure-native:cdn:Endpoint::site-endpoint originHostHeader",
            "azure-native:cdn:Endpoint::site-endpoint origins[0].hostName",
            "azure-native:storage:Blob::404-html containerName",
            "azure-native:storage:Blob::index-html containerName",
        },
        invokes=set(),
    ),
    "gcp-cloudrun-cloudsql": Case(
        config={
            "gcp:project": "corpus-dev",
            "gcp:region": "europe-west1",
            "dbName": "app",
            "dbPassword": "pw",
        },
        resources=5,
        violations={
            "m gcp-cloudrun-not-public gcp:cloudrun/iamMember:IamMember::app-public",  # allUsers may invoke
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "a stack-tier-max-tokens-cap (stack)",
        },
        unknown={
            "gcp:cloudrun/service:Service::app template.metadata.annotations.run.googleapis.com/cloudsql-instances"
        },
        invokes=set(),
    ),
    "gcp-functions-bucket": Case(
        config={"gcp:project": "corpus-dev"},
        resources=4,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
            "m tags-required gcp:cloudfunctions/function:Function::handler",
            "m tags-required gcp:storage/bucket:Bucket::sources",
        },
        unknown=set(),
        invokes=set(),
    ),
    "gcp-webserver-network": Case(
        config={"gcp:project": "corpus-dev"},
        resources=4,
        violations={
            "m stack-budget-alerts (stack)",
            "m stack-cost-anomaly-alert (stack)",
        },
        unknown={
            "gcp:compute/firewall:Firewall::web-ingress network",
            "gcp:compute/instance:Instance::web networkInterfaces[0].accessConfigs[0].natIp",
        },
        invokes={
            "gcp:organizations/getClientConfig:getClientConfig context",
            "gcp:organizations/getProject:getProject context",
        },
    ),
}
