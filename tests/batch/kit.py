"""The batch test kit: a router config with one batch deployment per provider on the simulator, the
SQLite job store and queue, an object storage (local directory or a peer), the batch service, the
batcher and a job worker (fallback lines and webhooks), all in one event loop."""

import json
import urllib.request

from skyrelay.runtime.config import parse_config
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.worker import Worker, router_generate
from skyrelay.runtime.router.router import Router
from tests.routerkit import sha

PRO_KEY, FREE_KEY = "sk-batch-pro", "sk-batch-free"
UPSTREAM = {"bedrock": "anthropic.claude-3-haiku-20240307-v1:0", "azure_openai": "gpt-4o-batch",
            "vertex": "gemini-1.5-flash"}
PRICE = {"input": 0.002, "output": 0.004}


def config_doc(sim_url: str, batch: dict | None = None, **extra) -> dict:
    batch = {"min_records": 1, "max_wait_s": 0, "role_arn": "arn:aws:iam::123456789012:role/batch", **(batch or {})}
    deps = [
        {"name": "br", "model": "m-bedrock", "provider": "bedrock", "upstream_model": UPSTREAM["bedrock"],
         "endpoint": sim_url, "region": "us-east-1", "auth": "none", "price": PRICE, "batch": batch},
        {"name": "az", "model": "m-azure", "provider": "azure_openai", "upstream_model": UPSTREAM["azure_openai"],
         "endpoint": sim_url, "api_version": "2024-10-21", "auth": "none", "price": PRICE, "batch": batch},
        {"name": "vx", "model": "m-vertex", "provider": "vertex", "upstream_model": UPSTREAM["vertex"],
         "endpoint": sim_url, "project": "p", "location": "us-central1", "auth": "none", "price": PRICE,
         "batch": batch},
        {"name": "plain", "model": "m-plain", "provider": "openai_compat", "upstream_model": "gpt-4o-mini",
         "endpoint": sim_url, "auth": "none", "price": PRICE},
    ]
    doc = {"deployments": deps,
           "models": {d["model"]: {"deployments": [d["name"]]} for d in deps},
           "tenants": [{"name": "pro", "tier": "professional", "api_keys": [sha(PRO_KEY)]},
                       {"name": "free", "tier": "free", "api_keys": [sha(FREE_KEY)]}],
           "cache": {"enabled": False}, "limiter": {"backend": "memory"}}
    doc.update(extra)
    return doc


def jobs_config(tmp_path, storage: dict | None = None, webhooks: dict | None = None, **batch) -> JobsConfig:
    return JobsConfig.model_validate({
        "store": {"path": str(tmp_path / "jobs.db")},
        "worker": {"max_attempts": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.05, "poll_interval_s": 0.01,
                   "sweep_interval_s": 0},
        "webhooks": webhooks or {},
        "batch": {"storage": storage or {"backend": "local", "options": {"root": str(tmp_path / "objects")}},
                  "lease_s": 5, **batch}})


class Rig:
    """Everything the batch tests drive, over one simulator."""

    def __init__(self, tmp_path, sim_url: str, storage: dict | None = None, batch: dict | None = None,
                 webhooks: dict | None = None, jobs_batch: dict | None = None, **extra):
        from skyrelay.runtime.batch.wiring import make_batcher
        from skyrelay.runtime.jobs.wiring import build_service

        self.sim_url = sim_url
        self.config = parse_config(config_doc(sim_url, batch, **extra))
        self.cfg = jobs_config(tmp_path, storage, webhooks, **(jobs_batch or {}))
        self.router = Router(self.config)
        self.jobs = build_service(self.config, self.router, cfg=self.cfg)
        self.store, self.queue, self.batches = self.jobs.store, self.jobs.queue, self.jobs.batches
        self.storage = self.batches.storage
        self.batcher = make_batcher(self.store, self.queue, self.cfg, self.config)
        self.worker = Worker(self.store, self.queue, router_generate(self.router), self.cfg, sweep=False)
        self.tenants = {t.name: t for t in self.config.tenants}

    async def drain(self, rounds: int = 50) -> int:
        """Runs the queue's ready messages (fallback jobs, webhooks) until it is empty."""
        import asyncio

        ran = 0
        for _ in range(rounds):
            got = await self.queue.receive(10, 30)
            if not got:
                if await self.queue.depth() == 0:
                    return ran
                await asyncio.sleep(0.05)
                continue
            for d in got:
                await self.worker.handle(d)
                ran += 1
        return ran

    async def close(self) -> None:
        await self.batcher.close()
        await self.worker.sender.close()
        await self.router.aclose()
        await self.store.close()
        await self.queue.close()


def sim_batch(sim_url: str, method: str = "GET", path: str = "", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
    req = urllib.request.Request(sim_url + "/_sim/batch" + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def jsonl(lines: list[dict]) -> bytes:
    return b"".join(json.dumps(x).encode() + b"\n" for x in lines)


def line(custom_id: str, model: str, text: str = "hello batch world", **body) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": text}], **body}}


async def file_bytes(rig: "Rig", tenant: str, file_id: str) -> bytes:
    """A file's content through the batch service (what GET /v1/files/{id}/content sends)."""
    from pathlib import Path

    path = Path(await rig.batches.file_content(tenant, file_id))
    try:
        return path.read_bytes()
    finally:
        path.unlink()
