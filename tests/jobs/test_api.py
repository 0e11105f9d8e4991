"""The /v1/jobs HTTP surface: submit, idempotency, tenant isolation, cancel, list, back-pressure, bad input."""

import pytest

from skyrelay.tiers import TierName, default_tiers
from tests.jobs.kit import OTHER_PRO_KEY, call, counts, runtime
from tests.routerkit import FREE_KEY

pytestmark = pytest.mark.anyio
JOB = {"model": "fast", "prompt": "hello"}


@pytest.fixture
async def rt(tmp_path):
    rt, _ = runtime(tmp_path)
    yield rt
    await rt.stop()


async def test_submit_answers_202_with_location_and_is_readable(rt):
    r = await call(rt.app, "POST", "/v1/jobs", json=JOB)
    assert r.status == 202
    assert set(r.json) == {"id", "status", "created_at"} and r.json["status"] == "PENDING"
    assert r.headers["location"] == f"/v1/jobs/{r.json['id']}"
    g = await call(rt.app, "GET", r.headers["location"])
    assert g.status == 200 and g.json["id"] == r.json["id"] and g.json["model"] == "fast"
    assert "request" not in g.json  # the prompt is not echoed back
    assert await counts(rt) == (1, 1)


async def test_same_idempotency_key_gives_same_job_and_one_message(rt):
    h = {"Idempotency-Key": "order-42"}
    first = await call(rt.app, "POST", "/v1/jobs", json=JOB, headers=h)
    second = await call(rt.app, "POST", "/v1/jobs", json=JOB, headers=h)
    assert first.status == second.status == 202
    assert first.json["id"] == second.json["id"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert await counts(rt) == (1, 1)


async def test_reused_idempotency_key_with_other_body_is_409(rt):
    h = {"Idempotency-Key": "k"}
    await call(rt.app, "POST", "/v1/jobs", json=JOB, headers=h)
    r = await call(rt.app, "POST", "/v1/jobs", json={**JOB, "prompt": "different"}, headers=h)
    assert r.status == 409 and r.code == "idempotency_key_reused"
    assert await counts(rt) == (1, 1)


async def test_idempotency_keys_do_not_cross_tenants(rt):
    h = {"Idempotency-Key": "shared"}
    a = await call(rt.app, "POST", "/v1/jobs", json=JOB, headers=h)
    b = await call(rt.app, "POST", "/v1/jobs", json=JOB, headers=h, key=OTHER_PRO_KEY)
    assert a.json["id"] != b.json["id"]


async def test_tenant_b_cannot_read_list_or_cancel_tenant_a_jobs(rt):
    job_id = (await call(rt.app, "POST", "/v1/jobs", json=JOB)).json["id"]
    read = await call(rt.app, "GET", f"/v1/jobs/{job_id}", key=OTHER_PRO_KEY)
    assert read.status == 404 and read.code == "not_found"
    listed = await call(rt.app, "GET", "/v1/jobs", key=OTHER_PRO_KEY)
    assert listed.status == 200 and listed.json["data"] == []
    cancel = await call(rt.app, "DELETE", f"/v1/jobs/{job_id}", key=OTHER_PRO_KEY)
    assert cancel.status == 404
    assert (await call(rt.app, "GET", f"/v1/jobs/{job_id}")).json["status"] == "PENDING"


async def test_cancel_pending_then_cancel_again_is_409(rt):
    job_id = (await call(rt.app, "POST", "/v1/jobs", json=JOB)).json["id"]
    c = await call(rt.app, "DELETE", f"/v1/jobs/{job_id}")
    assert c.status == 200 and c.json["status"] == "FAILED" and c.json["error"]["code"] == "cancelled"
    again = await call(rt.app, "DELETE", f"/v1/jobs/{job_id}")
    assert again.status == 409 and again.code == "job_not_cancellable"


async def test_cancelled_job_is_never_run(tmp_path):
    rt, fake = runtime(tmp_path, workers=1)
    job_id = (await call(rt.app, "POST", "/v1/jobs", json=JOB)).json["id"]
    await call(rt.app, "DELETE", f"/v1/jobs/{job_id}")
    await rt.start()
    import asyncio

    for _ in range(200):
        if await rt.queue.depth() == 0:
            break
        await asyncio.sleep(0.01)
    assert sum(fake.calls.values()) == 0
    assert rt.store.all_jobs_sync()[0].status == "FAILED"
    await rt.stop()


async def test_list_paginates_newest_first(rt):
    ids = [(await call(rt.app, "POST", "/v1/jobs", json=JOB)).json["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        r = await call(rt.app, "GET", "/v1/jobs?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200
        seen += [j["id"] for j in r.json["data"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    pending = await call(rt.app, "GET", "/v1/jobs?status=pending")
    assert len(pending.json["data"]) == 5


async def test_back_pressure_503_with_retry_after_writes_nothing(tmp_path):
    rt, _ = runtime(tmp_path, queue={"max_depth": 2, "retry_after_s": 7})
    for _ in range(2):
        assert (await call(rt.app, "POST", "/v1/jobs", json=JOB)).status == 202
    rt.service._depth = (0, -1.0)  # forget the cached depth
    r = await call(rt.app, "POST", "/v1/jobs", json=JOB)
    assert r.status == 503 and r.code == "overloaded" and r.headers["retry-after"] == "7"
    assert await counts(rt) == (2, 2)
    await rt.stop()


async def test_free_tier_request_rate_applies_at_submit(rt):
    rpm = default_tiers()[TierName.FREE].rpm
    statuses = [(await call(rt.app, "POST", "/v1/jobs", json=JOB, key=FREE_KEY)).status for _ in range(rpm + 2)]
    assert statuses[:rpm] == [202] * rpm
    assert statuses[rpm:] == [429, 429]
    r = await call(rt.app, "POST", "/v1/jobs", json=JOB, key=FREE_KEY)
    assert r.code == "rate_limited" and int(r.headers["retry-after"]) >= 1
    assert (await counts(rt))[0] == rpm


def _bad_inputs():
    free_cap = default_tiers()[TierName.FREE].max_tokens_cap
    pro_cap = default_tiers()[TierName.PROFESSIONAL].max_tokens_cap
    return [
        ("malformed json", "POST", "/v1/jobs", {"body": b'{"model": "fast",'}, 400, "invalid_json"),
        ("not an object", "POST", "/v1/jobs", {"json": ["fast"]}, 400, "validation_error"),
        ("missing prompt", "POST", "/v1/jobs", {"json": {"model": "fast"}}, 400, "validation_error"),
        ("empty prompt", "POST", "/v1/jobs", {"json": {"model": "fast", "prompt": " "}}, 400, "validation_error"),
        ("missing model", "POST", "/v1/jobs", {"json": {"prompt": "x"}}, 400, "validation_error"),
        ("unknown model", "POST", "/v1/jobs", {"json": {"model": "nope", "prompt": "x"}}, 404, "model_not_found"),
        ("model over tier", "POST", "/v1/jobs", {"json": {"model": "big", "prompt": "x"}, "key": FREE_KEY},
         403, "model_not_allowed"),
        ("max_tokens over cap", "POST", "/v1/jobs", {"json": {**JOB, "max_tokens": pro_cap + 1}}, 400,
         "max_tokens_over_cap"),
        ("free max_tokens over cap", "POST", "/v1/jobs", {"json": {**JOB, "max_tokens": free_cap + 1},
                                                         "key": FREE_KEY}, 400, "max_tokens_over_cap"),
        ("negative max_tokens", "POST", "/v1/jobs", {"json": {**JOB, "max_tokens": -1}}, 400, "validation_error"),
        ("stream", "POST", "/v1/jobs", {"json": {**JOB, "stream": True}}, 400, "unsupported_parameter"),
        ("unknown field", "POST", "/v1/jobs", {"json": {**JOB, "colour": "red"}}, 400, "unsupported_parameter"),
        ("bad priority", "POST", "/v1/jobs", {"json": {**JOB, "priority": "urgent"}}, 400, "validation_error"),
        ("bad preference", "POST", "/v1/jobs", {"json": JOB, "headers": {"X-Model-Preference": "magic"}}, 400,
         "validation_error"),
        ("metadata not object", "POST", "/v1/jobs", {"json": {**JOB, "metadata": [1]}}, 400, "validation_error"),
        ("callback ftp", "POST", "/v1/jobs", {"json": {**JOB, "callback_url": "ftp://example.com/x"}}, 400,
         "invalid_callback_url"),
        ("callback private", "POST", "/v1/jobs", {"json": {**JOB, "callback_url": "http://10.1.2.3/hook"}}, 400,
         "invalid_callback_url"),
        ("callback metadata ip", "POST", "/v1/jobs",
         {"json": {**JOB, "callback_url": "http://169.254.169.254/latest"}}, 400, "invalid_callback_url"),
        ("callback ipv6 loopback", "POST", "/v1/jobs", {"json": {**JOB, "callback_url": "http://[::1]:1/x"}},
         400, "invalid_callback_url"),
        ("callback garbage", "POST", "/v1/jobs", {"json": {**JOB, "callback_url": "not a url"}}, 400,
         "invalid_callback_url"),
        ("callback credentials", "POST", "/v1/jobs",
         {"json": {**JOB, "callback_url": "https://u:p@93.184.216.34/x"}}, 400, "invalid_callback_url"),
        ("oversize body", "POST", "/v1/jobs", {"json": {**JOB, "prompt": "x" * 1_100_000}}, 413, "payload_too_large"),
        ("no api key", "POST", "/v1/jobs", {"json": JOB, "key": None}, 401, "invalid_api_key"),
        ("wrong api key", "POST", "/v1/jobs", {"json": JOB, "key": "sk-wrong"}, 401, "invalid_api_key"),
        ("bad idempotency key", "POST", "/v1/jobs", {"json": JOB, "headers": {"Idempotency-Key": "k" * 300}}, 400,
         "validation_error"),
        ("unknown job id", "GET", "/v1/jobs/job_doesnotexist", {}, 404, "not_found"),
        ("cancel unknown job", "DELETE", "/v1/jobs/job_doesnotexist", {}, 404, "not_found"),
        ("bad list limit", "GET", "/v1/jobs?limit=zero", {}, 400, "validation_error"),
        ("bad list cursor", "GET", "/v1/jobs?cursor=%%%", {}, 400, "validation_error"),
        ("bad list status", "GET", "/v1/jobs?status=DONE", {}, 400, "validation_error"),
        ("wrong method", "PUT", "/v1/jobs", {"json": JOB}, 405, "method_not_allowed"),
    ]


@pytest.mark.parametrize("name,method,path,kw,status,code", _bad_inputs(), ids=[c[0] for c in _bad_inputs()])
async def test_bad_input_gets_a_stable_4xx_and_writes_nothing(rt, name, method, path, kw, status, code):
    kw = dict(kw)
    key = kw.pop("key", "default")
    if key != "default":
        kw["key"] = key
    r = await call(rt.app, method, path, **kw)
    assert r.status == status, r.body
    assert r.code == code
    assert set(r.json["error"]) == {"code", "message"}
    assert await counts(rt) == (0, 0)


async def test_public_callback_url_is_accepted(rt):
    r = await call(rt.app, "POST", "/v1/jobs", json={**JOB, "callback_url": "https://93.184.216.34/hook"})
    assert r.status == 202


async def test_idempotent_replay_spends_no_rate_limit_token(rt):
    rpm = default_tiers()[TierName.FREE].rpm
    h = {"Idempotency-Key": "once"}
    first = await call(rt.app, "POST", "/v1/jobs", json=JOB, key=FREE_KEY, headers=h)
    assert first.status == 202
    for _ in range(rpm + 3):  # replays: more of them than the tier allows requests per minute
        r = await call(rt.app, "POST", "/v1/jobs", json=JOB, key=FREE_KEY, headers=h)
        assert r.status == 202 and r.json["id"] == first.json["id"] and r.headers["idempotent-replayed"] == "true"
    # the bucket still holds every token but the first submit's
    fresh = [(await call(rt.app, "POST", "/v1/jobs", json=JOB, key=FREE_KEY)).status for _ in range(rpm)]
    assert fresh == [202] * (rpm - 1) + [429]
    assert await counts(rt) == (rpm, rpm)  # one job and one message per admitted submit, none per replay
    # a replay with another body is still refused, and a rejected submit writes nothing
    r = await call(rt.app, "POST", "/v1/jobs", json={**JOB, "prompt": "other"}, key=FREE_KEY, headers=h)
    assert r.status == 409 and r.code == "idempotency_key_reused"
    r = await call(rt.app, "POST", "/v1/jobs", json=JOB, key=FREE_KEY, headers={"Idempotency-Key": "new"})
    assert r.status == 429 and await counts(rt) == (rpm, rpm)
