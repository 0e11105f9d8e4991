"""Webhook signatures checked by the independent `standardwebhooks` library; SSRF policy; delivery."""

import asyncio
import time

import orjson
import pytest
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from skyrelay.runtime.jobs.webhooks import CallbackPolicy, InvalidCallbackUrl, new_secret, signed_headers
from tests.jobs.kit import PRO_SECRET, call, runtime

BODY = orjson.dumps({"type": "job.completed", "data": {"id": "job_1"}})


def test_signature_verifies_with_standardwebhooks():
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", BODY)
    assert Webhook(secret).verify(BODY, headers) == orjson.loads(BODY)


def test_tampered_body_fails_verification():
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"job_1", b"job_2"), headers)


def test_tampered_id_fails_verification():
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})


def test_stale_timestamp_fails_verification():
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", BODY, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_wrong_secret_fails_verification():
    headers = signed_headers([new_secret()], "msg_1", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_rotation_signs_with_both_secrets():
    old, new = new_secret(), new_secret()
    headers = signed_headers([old, new], "msg_1", BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers)
    assert Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


@pytest.mark.anyio
@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://localhost/x", "http://10.0.0.5/x", "http://192.168.1.1/x", "http://172.16.0.1/x",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/x", "http://[fe80::1]/x", "http://[::ffff:10.0.0.1]/x",
    "http://0.0.0.0/x", "http://100.64.0.1/x", "http://224.0.0.1/x", "gopher://93.184.216.34/x", "https:///x",
])
async def test_ssrf_policy_refuses_non_public_targets(url):
    with pytest.raises(InvalidCallbackUrl):
        await CallbackPolicy().check(url)


@pytest.mark.anyio
async def test_ssrf_allow_list_admits_cidrs_and_names():
    assert await CallbackPolicy(["127.0.0.1/32"]).check("http://127.0.0.1:9/x")
    assert await CallbackPolicy(["internal.example"]).check("http://internal.example/x")
    with pytest.raises(InvalidCallbackUrl):
        await CallbackPolicy(["127.0.0.1/32"]).check("http://10.0.0.1/x")
    assert await CallbackPolicy().check("https://93.184.216.34/hook")
    with pytest.raises(InvalidCallbackUrl):
        await CallbackPolicy(require_https=True).check("http://93.184.216.34/hook")


class Receiver:
    """A loopback webhook receiver that fails the first `fail_first` deliveries with 500."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.seen: list[tuple[dict, bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        return web.Response(status=500 if len(self.seen) <= self.fail_first else 204)

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


async def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await pred():
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.anyio
async def test_completed_job_webhook_is_signed_retried_with_stable_id_and_recorded(tmp_path):
    rt, _ = runtime(tmp_path, workers=1)
    await rt.start()
    try:
        async with Receiver(fail_first=2) as rx:
            r = await call(rt.app, "POST", "/v1/jobs", json={"model": "fast", "prompt": "hi", "callback_url": rx.url,
                                                            "metadata": {"order": 7}})
            job_id = r.json["id"]

            async def delivered():
                return (await call(rt.app, "GET", f"/v1/jobs/{job_id}")).json.get("webhook", {}).get("state") == "delivered"

            assert await _wait(delivered)
        job = (await call(rt.app, "GET", f"/v1/jobs/{job_id}")).json
        assert len(rx.seen) == 3
        ids = {h["webhook-id"] for h, _ in rx.seen}
        assert len(ids) == 1 and ids == {job["webhook"]["id"]}
        bodies = {b for _, b in rx.seen}
        assert len(bodies) == 1  # the same event on every retry
        headers, body = rx.seen[-1]
        payload = Webhook(PRO_SECRET).verify(body, headers)
        assert payload["type"] == "job.completed"
        assert payload["data"]["id"] == job_id and payload["data"]["status"] == "COMPLETE"
        assert payload["data"]["result"]["text"] and payload["data"]["metadata"] == {"order": 7}
        assert [a["status"] for a in job["webhook"]["attempts"]] == [500, 500, 204]
    finally:
        await rt.stop()


@pytest.mark.anyio
async def test_webhook_gives_up_after_max_attempts(tmp_path):
    rt, _ = runtime(tmp_path, workers=1, webhooks={"max_attempts": 2})
    await rt.start()
    try:
        async with Receiver(fail_first=99) as rx:
            job_id = (await call(rt.app, "POST", "/v1/jobs",
                                 json={"model": "fast", "prompt": "hi", "callback_url": rx.url})).json["id"]

            async def failed():
                return (await call(rt.app, "GET", f"/v1/jobs/{job_id}")).json["webhook"]["state"] == "failed"

            assert await _wait(failed)
            assert await _wait(lambda: _zero(rt))
        assert len(rx.seen) == 2
        job = (await call(rt.app, "GET", f"/v1/jobs/{job_id}")).json
        assert job["status"] == "COMPLETE" and len(job["webhook"]["attempts"]) == 2
    finally:
        await rt.stop()


async def _zero(rt):
    return await rt.queue.depth() == 0


@pytest.mark.anyio
async def test_rotation_config_signs_with_both_tenant_secrets(tmp_path):
    from tests.jobs.kit import PRO_SECRET_NEXT

    rt, _ = runtime(tmp_path, workers=1, webhooks={"secrets": {"pro": [PRO_SECRET, PRO_SECRET_NEXT]}})
    await rt.start()
    try:
        async with Receiver() as rx:
            await call(rt.app, "POST", "/v1/jobs", json={"model": "fast", "prompt": "hi", "callback_url": rx.url})

            async def got():
                return bool(rx.seen)

            assert await _wait(got)
        headers, body = rx.seen[0]
        assert Webhook(PRO_SECRET).verify(body, headers) and Webhook(PRO_SECRET_NEXT).verify(body, headers)
    finally:
        await rt.stop()


class Rebinding:
    """A DNS that answers with a public address first (the check) and loopback afterwards (the connect)."""

    def __init__(self, later: str = "127.0.0.1"):
        self.later = later
        self.lookups = 0

    async def check_time(self, host, port):
        return ["93.184.216.34"]

    async def resolve(self, host, port=0, family=0):
        import socket

        self.lookups += 1
        return [{"hostname": host, "host": self.later, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self):
        pass


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.mark.anyio
async def test_delivery_is_pinned_to_checked_addresses_dns_rebinding_is_refused():
    from skyrelay.runtime.jobs.webhooks import WebhookSender

    dns = Rebinding()
    policy = CallbackPolicy(allow_hosts=())  # loopback not allowed
    policy._resolve = dns.check_time
    sender = WebhookSender(policy, timeout_s=5, resolver=dns)
    async with Receiver() as rx:
        url = f"http://hooks.example.test:{_port(rx.url)}/hook"
        await policy.check(url)  # passes: at check time the host looks public
        record = await sender.deliver(url, "msg_1", BODY, [new_secret()])
    await sender.close()
    assert dns.lookups >= 1  # the connection's own lookup went through the pinning resolver
    assert record["ok"] is False and record.get("blocked") is True and "127.0.0.1" in record["error"]
    assert rx.seen == []  # nothing reached the loopback receiver


@pytest.mark.anyio
async def test_connect_time_check_refuses_localhost_and_admits_it_when_allowed(monkeypatch):
    from skyrelay.runtime.jobs.webhooks import WebhookSender

    async def checked_earlier(self, url):  # the submit-time check passed (the answer then was public)
        return url

    async with Receiver() as rx:
        url = f"http://localhost:{_port(rx.url)}/hook"  # real DNS: loopback
        with monkeypatch.context() as m:
            m.setattr(CallbackPolicy, "check", checked_earlier)
            refused = WebhookSender(CallbackPolicy(allow_hosts=("10.0.0.0/8",)), timeout_s=5)
            record = await refused.deliver(url, "msg_1", BODY, [new_secret()])
            await refused.close()
        assert record.get("blocked") is True and not record["ok"] and rx.seen == []

        allowed = WebhookSender(CallbackPolicy(allow_hosts=("127.0.0.1/32", "::1/128")), timeout_s=5)
        record = await allowed.deliver(url, "msg_2", BODY, [new_secret()])
        await allowed.close()
        assert record["ok"] and len(rx.seen) == 1
