"""Job test kit: a LocalRuntime over SQLite in tmp_path with a scriptable fake provider, and an
in-process ASGI client (no sockets)."""

from dataclasses import dataclass

import orjson

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.webhooks import new_secret
from skyrelay.runtime.platforms.local import LocalRuntime
from skyrelay.runtime.router.router import Router
from tests.routerkit import FREE_KEY, PRO_KEY, FakeProvider, make_config

PRO_SECRET, PRO_SECRET_NEXT, FREE_SECRET = new_secret(), new_secret(), new_secret()
OTHER_PRO_KEY = "sk-test-pro-2"


def jobs_config(tmp_path, **sections) -> JobsConfig:
    base = {
        "store": {"path": str(tmp_path / "jobs.db")},
        "queue": {"visibility_timeout_s": 30},
        "worker": {"workers": 1, "concurrency": 8, "max_attempts": 3, "backoff_base_s": 0.01,
                   "backoff_max_s": 0.05, "poll_interval_s": 0.01},
        "webhooks": {"secrets": {"pro": [PRO_SECRET], "free": [FREE_SECRET]},
                     "allow_hosts": ["127.0.0.1/32"], "backoff_base_s": 0.01, "backoff_max_s": 0.05},
    }
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v}
    return JobsConfig.model_validate(base)


def runtime(tmp_path, fake: FakeProvider | None = None, workers: int = 0, generate=None, **sections):
    """-> (LocalRuntime, FakeProvider). Tenants: free, pro, ent (tests/routerkit.py)."""
    from tests.routerkit import sha

    fake = fake or FakeProvider()
    cfg = make_config(tenants=[
        {"name": "free", "tier": "free", "api_keys": [sha(FREE_KEY)]},
        {"name": "pro", "tier": "professional", "api_keys": [sha(PRO_KEY)]},
        {"name": "pro2", "tier": "professional", "api_keys": [sha(OTHER_PRO_KEY)]},
    ])
    router = Router(cfg, call=fake.call, open_stream=fake.open_stream)
    rt = LocalRuntime(cfg, router=router, jobs=jobs_config(tmp_path, **sections), workers=workers, generate=generate)
    return rt, fake


@dataclass
class Resp:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return orjson.loads(self.body)

    @property
    def code(self):
        return self.json["error"]["code"]


async def call(app, method: str, path: str, key: str | None = PRO_KEY, json=None, body: bytes | None = None,
               headers: dict | None = None) -> Resp:
    path, _, query = path.partition("?")
    if json is not None:
        body = orjson.dumps(json)
    body = body or b""
    h = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if key:
        h.append((b"authorization", f"Bearer {key}".encode()))
    for k, v in (headers or {}).items():
        h.append((k.lower().encode(), v.encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "headers": h,
             "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 80), "root_path": ""}
    sent = [False]

    async def receive():
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    out = {"headers": {}, "body": b""}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return Resp(out["status"], out["headers"], out["body"])


async def counts(rt) -> tuple[int, int]:
    """(jobs stored, messages queued)."""
    jobs = rt.store.all_jobs_sync()
    return len(jobs), await rt.queue.depth()
