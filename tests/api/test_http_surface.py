"""The HTTP surface items of issue 9, through `skyrelay serve` in both of its modes (router only, and
router + job worker processes): 405 answers carry `Allow`, oversized request headers get 431, no
`server` header, /metrics needs its own token, and /openapi.json describes every route, jobs included."""

import hashlib
import socket
import threading

import pytest
from openapi_spec_validator import validate

from tests.servekit import PRO, Serve, example_config, http

METRICS_TOKEN = "sk-test-metrics"


@pytest.fixture(scope="module", params=["router", "jobs"])
def serve(request, tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp(request.param)
    cfg = example_config(tmp, simulator.base_url,
                         api={"metrics_keys": [hashlib.sha256(METRICS_TOKEN.encode()).hexdigest()]})
    if request.param == "router":
        del cfg["jobs"]
    with Serve(tmp, cfg) as srv:
        srv.mode = request.param
        yield srv


def raw_request(port: int, head: bytes, chunk: int = 1 << 16) -> bytes:
    """Sends `head` (request line + headers) in pieces from a thread and returns what the server answered,
    even when it answers and closes before the client has finished sending."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)

    def send():
        try:
            for i in range(0, len(head), chunk):
                sock.sendall(head[i:i + chunk])
        except OSError:  # the server answered and closed: the rest is refused, as it should be
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    out = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            out += data
            if b"\r\n\r\n" in out and b'"}}' in out:
                break
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    sender.join(30)
    return out


@pytest.mark.parametrize("size", [100_000, 32 * 1024 * 1024])
def test_oversized_request_headers_get_431(serve, size):
    head = b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * size + b"\r\n\r\n"
    answer = raw_request(serve.port, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code":"request_headers_too_large"' in answer
    many = b"GET /healthz HTTP/1.1\r\nhost: x\r\n" + b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 100) for i in range(2000))
    assert raw_request(serve.port, many + b"\r\n").startswith(b"HTTP/1.1 431 ")
    ok = raw_request(serve.port, b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-fine: " + b"a" * 8000 + b"\r\n"
                     b"connection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200 "), ok[:200]


def test_405_answers_carry_allow(serve):
    cases = [("GET", "/v1/chat/completions", {"POST"}), ("POST", "/v1/models", {"GET", "HEAD"}),
             ("DELETE", "/healthz", {"GET", "HEAD"}), ("PUT", "/v1/jobs", {"GET", "HEAD", "POST"}),
             ("POST", "/v1/jobs/job_x", {"GET", "HEAD", "DELETE"})]
    for method, path, allowed in cases:
        status, headers, doc = http(method, serve.url + path, b"{}", {"authorization": f"Bearer {PRO}"})
        assert (status, doc["error"]["code"]) == (405, "method_not_allowed"), (method, path, status, doc)
        assert {m.strip() for m in headers["allow"].split(",")} == allowed, (path, headers["allow"])


def test_no_server_header(serve):
    for method, path in [("GET", "/healthz"), ("GET", "/v1/models"), ("GET", "/nope"), ("POST", "/v1/jobs")]:
        _, headers, _ = http(method, serve.url + path, None if method == "GET" else b"{}",
                             {"authorization": f"Bearer {PRO}"})
        assert "server" not in headers, (serve.mode, path, headers.items())


def test_metrics_need_the_metrics_token(serve):
    for headers in ({}, {"authorization": f"Bearer {PRO}"}, {"authorization": "Bearer sk-wrong"}):
        status, _, doc = http("GET", serve.url + "/metrics", headers=headers)
        assert (status, doc["error"]["code"]) == (401, "invalid_api_key"), (headers, status, doc)
    http("GET", serve.url + "/v1/models", headers={"authorization": f"Bearer {PRO}"})
    status, headers, body = http("GET", serve.url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert b"skyrelay_request_seconds_bucket" in body


def test_openapi_describes_every_route(serve):
    status, _, doc = http("GET", serve.url + "/openapi.json")
    assert status == 200
    validate(doc)
    ops = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert {("/v1/jobs", "post"), ("/v1/jobs", "get"), ("/v1/jobs/{job_id}", "get"),
            ("/v1/jobs/{job_id}", "delete"), ("/v1/chat/completions", "post"), ("/v1/models", "get"),
            ("/healthz", "get"), ("/metrics", "get"), ("/openapi.json", "get")} <= ops
    submit = doc["paths"]["/v1/jobs"]["post"]
    assert "202" in submit["responses"] and "Location" in submit["responses"]["202"]["headers"]
