"""The optional JWT authorizer of JobsApi: a Cognito user pool (or an existing one), an app client
with short-lived tokens, and a COGNITO_USER_POOLS authorizer on the REST API."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class JwtParts:
    authorizer: aws.apigateway.Authorizer
    user_pool: aws.cognito.UserPool | None
    user_pool_client: aws.cognito.UserPoolClient | None


def jwt_authorizer(owner: pulumi.Resource, name: str, rest_api: aws.apigateway.RestApi,
                   pool_arn: pulumi.Input[str] | None, token_minutes: int) -> JwtParts:
    """The authorizer for `pool_arn`; without one, a new pool and app client with `token_minutes` tokens."""
    child = pulumi.ResourceOptions(parent=owner)
    user_pool = None
    client = None
    if pool_arn is None:
        user_pool = aws.cognito.UserPool(
            f"{name}-users",
            deletion_protection="ACTIVE",
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=12, require_lowercase=True, require_uppercase=True, require_numbers=True,
                require_symbols=True, temporary_password_validity_days=1,
            ),
            opts=child,
        )
        pool_arn = user_pool.arn
        client = aws.cognito.UserPoolClient(
            f"{name}-app",
            user_pool_id=user_pool.id,
            access_token_validity=token_minutes,
            id_token_validity=token_minutes,
            refresh_token_validity=1,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes", id_token="minutes", refresh_token="days"
            ),
            enable_token_revocation=True,
            prevent_user_existence_errors="ENABLED",
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            generate_secret=False,
            opts=child,
        )
    authorizer = aws.apigateway.Authorizer(
        f"{name}-jwt",
        rest_api=rest_api.id,
        type="COGNITO_USER_POOLS",
        provider_arns=[pool_arn],
        identity_source="method.request.header.Authorization",
        authorizer_result_ttl_in_seconds=300,
        opts=child,
    )
    return JwtParts(authorizer=authorizer, user_pool=user_pool, user_pool_client=client)
