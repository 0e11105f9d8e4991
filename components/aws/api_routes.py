"""The REST API's routes: resources, methods (API key and optional JWT required), AWS_PROXY
integrations to the API Lambda, the invoke permission and the deployment that captures them."""

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from skyrelay.components.api_common import ROUTES  # shared with the other clouds
from skyrelay.components.aws.statements import invoke_permission

__all__ = ["ROUTES", "RouteParts", "routes"]


@dataclass
class RouteParts:
    resources: dict[str, aws.apigateway.Resource]
    methods: list[aws.apigateway.Method]
    integrations: list[aws.apigateway.Integration]
    permission: aws.lambda_.Permission
    deployment: aws.apigateway.Deployment


def routes(owner: pulumi.Resource, name: str, rest_api: aws.apigateway.RestApi, function: aws.lambda_.Function,
           authorizer: aws.apigateway.Authorizer | None, api_key_required: bool, timeout: int) -> RouteParts:
    child = pulumi.ResourceOptions(parent=owner)
    # Resources: /v1, /v1/jobs, /v1/jobs/{id}, /v1/chat, /v1/chat/completions
    resources: dict[str, aws.apigateway.Resource] = {}
    for path, _ in ROUTES:
        _resource(owner, name, rest_api, resources, path)
    methods: list[aws.apigateway.Method] = []
    integrations: list[aws.apigateway.Integration] = []
    for path, verbs in ROUTES:
        resource = resources[path]
        for verb in verbs:
            slug = f"{name}-{verb.lower()}-{_slug(path)}"
            method = aws.apigateway.Method(
                slug,
                rest_api=rest_api.id,
                resource_id=resource.id,
                http_method=verb,
                api_key_required=api_key_required,
                authorization="COGNITO_USER_POOLS" if authorizer else "NONE",
                authorizer_id=authorizer.id if authorizer else None,
                request_parameters={"method.request.path.id": True} if "{id}" in path else None,
                opts=child,
            )
            methods.append(method)
            integrations.append(
                aws.apigateway.Integration(
                    slug,
                    rest_api=rest_api.id,
                    resource_id=resource.id,
                    http_method=method.http_method,
                    type="AWS_PROXY",
                    integration_http_method="POST",
                    uri=function.invoke_arn,
                    timeout_milliseconds=timeout * 1000,
                    opts=child,
                )
            )
    permission = invoke_permission(owner, f"{name}-invoke", function, "apigateway.amazonaws.com",
                                   rest_api.execution_arn.apply(lambda arn: f"{arn}/*/*/*"))
    redeploy = hashlib.sha256(json.dumps([ROUTES, bool(authorizer), api_key_required]).encode())
    deployment = aws.apigateway.Deployment(
        name,
        rest_api=rest_api.id,
        description="skyrelay API",
        triggers={"routes": redeploy.hexdigest()},
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[*methods, *integrations]),
    )
    return RouteParts(resources=resources, methods=methods, integrations=integrations, permission=permission,
                      deployment=deployment)


def _resource(owner: pulumi.Resource, name: str, rest_api: aws.apigateway.RestApi,
              resources: dict[str, aws.apigateway.Resource], path: str) -> aws.apigateway.Resource:
    """The resource for `path`, its parents first (each created once, kept in `resources`)."""
    if path in resources:
        return resources[path]
    parent_path, _, part = path.rpartition("/")
    parent_id = (_resource(owner, name, rest_api, resources, parent_path).id if parent_path
                 else rest_api.root_resource_id)
    resource = aws.apigateway.Resource(
        f"{name}-{_slug(path)}",
        rest_api=rest_api.id,
        parent_id=parent_id,
        path_part=part,
        opts=pulumi.ResourceOptions(parent=owner),
    )
    resources[path] = resource
    return resource


def _slug(path: str) -> str:
    return path.replace("{", "").replace("}", "").replace("/", "-")
