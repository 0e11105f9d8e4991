"""A small SigV4 client for the AWS JSON-protocol APIs the runtime calls: DynamoDB, SQS (its JSON
protocol) and Secrets Manager.

Why not botocore: in a cold Lambda, importing botocore and building one client costs ~250 ms
(service models, endpoint rulesets, docs machinery), most of the worker's cold-start budget. This
client speaks the same wire format, so the adapters keep passing the same dicts:

- `client.put_item(TableName=..., Item=...)` posts `{"TableName": ..., "Item": ...}` with
  `X-Amz-Target: DynamoDB_20120810.PutItem` and returns the parsed JSON response;
- an error raises `AwsError`, whose `response["Error"]["Code"]` is botocore's code (SQS's
  query-compatible code from `x-amzn-query-error` when present), which is what the adapters read;
- throttling, 5xx and connection errors are retried with jittered exponential backoff (5 attempts,
  like the botocore config the adapters use);
- connections are kept alive in a small thread-safe pool (the adapters call from worker threads).

Credentials come from the environment, as Lambda sets them for the execution role
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Without them (container credentials,
a laptop profile), `make_client` returns a botocore client instead.
"""

import http.client
import json
import os
import random
import time
from urllib.parse import urlsplit

from skyrelay import deployment as contract
from skyrelay.runtime.clouds.aws import sigv4
from skyrelay.runtime.clouds.aws.credentials import from_env as credentials_from_env
from skyrelay.runtime.clouds.aws.credentials import region_from_env
from skyrelay.runtime.clouds.http_pool import ConnectionPool

# service -> (X-Amz-Target prefix, content type, signing name)
SERVICES = {
    "dynamodb": ("DynamoDB_20120810", "application/x-amz-json-1.0", "dynamodb"),
    "sqs": ("AmazonSQS", "application/x-amz-json-1.0", "sqs"),
    "secretsmanager": ("secretsmanager", "application/x-amz-json-1.1", "secretsmanager"),
}
RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "TooManyRequestsException",
    "RequestThrottled", "SlowDown", "InternalFailure", "InternalError", "ServiceUnavailable",
    "TransactionInProgressException", "LimitExceededException",
})


class AwsError(Exception):
    """An AWS error response, shaped like botocore's ClientError for the adapters' `_code` helpers."""

    def __init__(self, operation: str, status: int, code: str, message: str):
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")
        self.operation_name = operation
        self.response = {"Error": {"Code": code, "Message": message},
                         "ResponseMetadata": {"HTTPStatusCode": status}}


def default_endpoint(service: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{service}.{region}.{suffix}"


class AwsJsonClient:
    def __init__(self, service: str, region: str | None = None, endpoint_url: str | None = None,
                 credentials: tuple[str, str, str | None] | None = None, max_attempts: int = 5,
                 timeout_s: float = 10.0):
        if service not in SERVICES:
            raise ValueError(f"unsupported service {service!r}; known: {sorted(SERVICES)}")
        self.service = service
        self.target_prefix, self.content_type, self.signing_name = SERVICES[service]
        self.region = region or region_from_env()
        self.credentials = credentials or credentials_from_env()
        if self.credentials is None:
            raise RuntimeError("no AWS credentials in the environment")
        url = urlsplit(endpoint_url or default_endpoint(service, self.region))
        self.https = url.scheme == "https"
        self.host = url.netloc
        self.path = url.path or "/"
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._pool = ConnectionPool(self.host, self.https, timeout_s)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        operation = "".join(part[:1].upper() + part[1:] for part in name.split("_"))

        def call(**params):
            return self.call(operation, params)

        call.__name__ = name
        return call

    # ---- wire ----
    def call(self, operation: str, params: dict) -> dict:
        body = json.dumps(params, separators=(",", ":")).encode()
        for attempt in range(1, self.max_attempts + 1):
            try:
                status, headers, data = self._send(operation, body)
            except (OSError, http.client.HTTPException):
                if attempt == self.max_attempts:
                    raise
                self._backoff(attempt)
                continue
            if status < 300:
                return json.loads(data) if data else {}
            error = self._error(operation, status, headers, data)
            if attempt < self.max_attempts and (status >= 500 or error.response["Error"]["Code"] in RETRYABLE_CODES):
                self._backoff(attempt)
                continue
            raise error
        raise AssertionError("unreachable")

    def _send(self, operation: str, body: bytes) -> tuple[int, dict, bytes]:
        return self._pool.send("POST", self.path, body, self._signed_headers(f"{self.target_prefix}.{operation}", body))

    def _signed_headers(self, target: str, body: bytes) -> dict:
        headers = {"content-type": self.content_type, "host": self.host, "x-amz-target": target}
        url = f"{'https' if self.https else 'http'}://{self.host}{self.path}"
        headers.update(sigv4.sign("POST", url, headers, body, self.credentials, self.region, self.signing_name))
        headers["accept-encoding"] = "identity"  # not signed: botocore leaves it out too
        return headers

    @staticmethod
    def _error(operation: str, status: int, headers: dict, data: bytes) -> AwsError:
        try:
            doc = json.loads(data) if data else {}
        except ValueError:
            doc = {}
        code = str(doc.get("__type") or doc.get("code") or f"HTTP{status}").rsplit("#", 1)[-1]
        query_code = headers.get("x-amzn-query-error")  # SQS: the code botocore reports
        if query_code:
            code = query_code.split(";", 1)[0]
        message = str(doc.get("message") or doc.get("Message") or "")
        return AwsError(operation, status, code, message)

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** attempt)))

    def close(self) -> None:
        self._pool.close()


def make_client(service: str, endpoint_url: str | None = None, region: str | None = None, env=None):
    """The fast client when the environment holds credentials (always on Lambda), else botocore's."""
    env = env if env is not None else os.environ
    creds = credentials_from_env(env)
    if creds is not None and env.get(contract.AWS_CLIENT, "json") != "botocore":
        return AwsJsonClient(service, region or region_from_env(env), endpoint_url, creds)
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        service, endpoint_url=endpoint_url, region_name=region or region_from_env(env),
        config=Config(retries={"mode": "standard", "max_attempts": 5}, tcp_keepalive=True),
    )
