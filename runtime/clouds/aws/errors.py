"""The AWS error code of an exception, for the DynamoDB/SQS adapters (store, queue, limiter).

Both botocore's ClientError and the runtime's own JSON client (`json_client.AwsError`) carry it as
`exc.response["Error"]["Code"]`; anything else has none.
"""


def error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
