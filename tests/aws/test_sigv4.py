"""The runtime's SigV4 signer equals botocore's `SigV4Auth`, byte for byte, on the requests the runtime
makes (DynamoDB/SQS/Secrets Manager JSON posts, Bedrock Converse) and on the URL shapes that trip
signers up (encoded model ids, dot segments, repeated slashes, unsorted queries, ports, whitespace)."""

import calendar
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from skyrelay.runtime.clouds.aws import json_client as awsjson
from skyrelay.runtime.clouds.aws import sigv4 as aws_sigv4

CREDS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session/token+=")

REQUESTS = [
    ("POST", "https://dynamodb.eu-west-1.amazonaws.com/", "dynamodb", "eu-west-1",
     {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.GetItem"}, b'{"TableName":"t"}'),
    ("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
     "bedrock", "us-east-1", {"content-type": "application/json", "accept": "application/json"}, b'{"messages":[]}'),
    ("POST", "https://bedrock-runtime.us-west-2.amazonaws.com/model/a.b-v1%3A0/converse-stream", "bedrock",
     "us-west-2", {"Content-Type": "application/json", "User-Agent": "skyrelay", "X-Amzn-Trace-Id": "Root=1"}, b"{}"),
    ("GET", "https://example.amazonaws.com/a//b/./c/../d/?z=1&a=2&m=%2F", "execute-api", "eu-central-1",
     {"x-custom": "  spaced   value  "}, b""),
    ("POST", "http://127.0.0.1:4566/", "sqs", "us-east-1", {"content-type": "application/x-amz-json-1.0"}, b"{}"),
    ("POST", "https://secretsmanager.us-east-1.amazonaws.com:443/", "secretsmanager", "us-east-1",
     {"content-type": "application/x-amz-json-1.1", "Authorization": "stale"}, b"{}"),
]


def botocore_signed(method, url, service, region, headers, body, token=CREDS[2]):
    req = AWSRequest(method, url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(CREDS[0], CREDS[1], token), service, region).add_auth(req)
    now = calendar.timegm(time.strptime(req.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    return req, now


@pytest.mark.parametrize(("method", "url", "service", "region", "headers", "body"), REQUESTS,
                         ids=lambda v: v if isinstance(v, str) and v.startswith("http") else None)
@pytest.mark.parametrize("token", [CREDS[2], None], ids=["session-token", "no-token"])
def test_same_signature_as_botocore(method, url, service, region, headers, body, token):
    req, now = botocore_signed(method, url, service, region, headers, body, token)
    ours = aws_sigv4.sign(method, url, headers, body, (*CREDS[:2], token), region, service, now=now)
    assert ours["authorization"] == req.headers["Authorization"]
    assert ours["x-amz-date"] == req.headers["X-Amz-Date"]
    assert ours.get("x-amz-security-token") == req.headers.get("X-Amz-Security-Token")


def test_the_json_client_sends_what_botocore_signs(monkeypatch):
    c = awsjson.AwsJsonClient("dynamodb", "eu-west-1", None, CREDS)
    body, target = b'{"TableName":"t"}', "DynamoDB_20120810.DescribeTable"
    req, now = botocore_signed("POST", "https://dynamodb.eu-west-1.amazonaws.com/", "dynamodb", "eu-west-1",
                               {"content-type": "application/x-amz-json-1.0", "x-amz-target": target}, body)
    monkeypatch.setattr(aws_sigv4.time, "time", lambda: now)
    ours = c._signed_headers(target, body)
    assert (ours["authorization"], ours["x-amz-date"]) == (req.headers["Authorization"], req.headers["X-Amz-Date"])
