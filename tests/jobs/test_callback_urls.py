"""Defect 7 of issue 9: submit accepted callback URLs that delivery can never reach (non-canonical
IPv4 such as `127.1`, `2130706433`, `0177.0.0.1`). One canonical check (`CallbackPolicy.check`) at
submit and before every delivery; submit refuses with 400 `invalid_callback_url`."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from skyrelay.runtime.jobs.webhooks import CallbackPolicy, WebhookSender
from tests.servekit import PRO, Serve, example_config, http

NON_CANONICAL = ["127.1", "127.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "017700000001",
                 "127.000.000.001", "127.0.0.01", "1.0x7f.0.1", "127.0.0.1.", "[::ffff:127.0.0.1]", "127%2e0.0.1",
                 "loc%61lhost", "bad_host.example", "-a.example", "xn--.example", "a..example"]


class Receiver(BaseHTTPRequestHandler):
    hits: list = []

    def do_POST(self):  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers["content-length"]))
        Receiver.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.hits = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_submit_refuses_non_canonical_hosts_and_delivers_to_the_canonical_one(tmp_path, sim, receiver):
    auth = {"authorization": f"Bearer {PRO}"}
    with Serve(tmp_path, example_config(tmp_path, sim.base_url)) as srv:  # allow_hosts: 127.0.0.1/32
        for host in NON_CANONICAL:
            url = f"http://{host}:{receiver}/hook"
            status, _, doc = http("POST", srv.url + "/v1/jobs", {"model": "fast", "prompt": "x", "callback_url": url},
                                  auth)
            assert (status, doc["error"]["code"]) == (400, "invalid_callback_url"), (host, status, doc)
        status, _, doc = http("POST", srv.url + "/v1/jobs", {"model": "fast", "prompt": "x",
                                                             "callback_url": f"http://127.0.0.1:{receiver}/ok"}, auth)
        assert status == 202, doc
        deadline = time.monotonic() + 60
        while not Receiver.hits:
            assert time.monotonic() < deadline, srv.output()
            time.sleep(0.05)
    assert Receiver.hits == ["/ok"]  # nothing else was ever submitted, so nothing else was delivered


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1"])
async def test_delivery_applies_the_same_check(receiver, host):
    """A record stored before the check existed (or written around the API) is still refused at delivery."""
    sender = WebhookSender(CallbackPolicy(["127.0.0.1/32"]), timeout_s=5)
    record = await sender.deliver(f"http://{host}:{receiver}/hook", "msg_1", b"{}", [])
    await sender.close()
    assert record.get("blocked") is True and "canonical" in record["error"], record
    assert Receiver.hits == []
