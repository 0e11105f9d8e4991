"""Batch work in: each line goes to the batch deployment of its model, in JSONL chunks under
`pending/<deployment>/` (records.py), at most the deployment's records per provider job per chunk.

A chunk line is `{"o": owner id, "t": tenant, "n": line number, "c": custom id, "r": request, "k": tokens}`
(the request as `ChatRequest.to_compact_doc`: 50,000 of them are written and read back per provider job);
the owner is a batch (`batch_...`) or a single job (`job_...`). A model without a batch deployment
gets the pseudo-deployment `@<model>`: the batcher runs its lines on demand at once.

Chunks are written before the record that owns them: a crash in between leaves a chunk whose owner
does not exist, and its results are dropped at apply (never a record waiting for work that is gone).
"""

import contextlib
import os
import tempfile
import time

import orjson

from skyrelay.runtime.batch.records import chunk_key, new_id
from skyrelay.runtime.canonical import ChatRequest

ON_DEMAND = "@"
BUFFER = 1 << 18  # a chunk file's write buffer: a few hundred lines per write call


def batch_deployment(config, model: str):
    """The first deployment of `model` (priority order) that takes provider batches, or None."""
    for name in config.models[model].deployments:
        dep = config.deployment(name)
        if dep.batch is not None:
            return dep
    return None


def deployment_key(config, model: str) -> str:
    dep = batch_deployment(config, model)
    return dep.name if dep is not None else ON_DEMAND + model


class ChunkWriter:
    """Collects lines per deployment in local temporary files; `finish()` uploads them as chunks."""

    def __init__(self, storage, config, clock=time.time):
        self.storage, self.config, self.clock = storage, config, clock
        self._open: dict[str, dict] = {}
        self._routes: dict[str, tuple[str, int]] = {}  # model -> (deployment, records per chunk), looked up once
        self._done: list[tuple[str, str, int, int]] = []  # (deployment, path, lines, tokens)

    def _cap(self, deployment: str) -> int:
        if deployment.startswith(ON_DEMAND):
            return 50_000
        dep = self.config.deployment(deployment)
        return dep.batch.records(dep.provider)

    def add(self, owner: str, tenant: str, number: int, custom_id: str, request: ChatRequest, tokens: int) -> str:
        route = self._routes.get(request.model)
        if route is None:
            deployment = deployment_key(self.config, request.model)
            route = self._routes[request.model] = (deployment, self._cap(deployment))
        deployment, cap = route
        cur = self._open.get(deployment)
        if cur is None:
            fd, path = tempfile.mkstemp(prefix="skyrelay-chunk-", suffix=".jsonl")
            cur = self._open[deployment] = {"f": os.fdopen(fd, "wb", BUFFER), "path": path, "lines": 0, "tokens": 0}
        cur["f"].write(orjson.dumps({"o": owner, "t": tenant, "n": number, "c": custom_id,
                                     "r": request.to_compact_doc(), "k": tokens}, option=orjson.OPT_APPEND_NEWLINE))
        cur["lines"] += 1
        cur["tokens"] += tokens
        if cur["lines"] >= cap:
            self._close(deployment)
        return deployment

    def _close(self, deployment: str) -> None:
        cur = self._open.pop(deployment)
        cur["f"].close()
        self._done.append((deployment, cur["path"], cur["lines"], cur["tokens"]))

    async def finish(self) -> list[str]:
        for deployment in list(self._open):
            self._close(deployment)
        keys = []
        try:
            for deployment, path, lines, tokens in self._done:
                key = chunk_key(deployment, self.clock(), new_id("c"), lines, tokens)
                await self.storage.put_file(key, path)
                keys.append(key)
        finally:
            self.discard()
        return keys

    def discard(self) -> None:
        for deployment in list(self._open):
            self._close(deployment)
        for _, path, _, _ in self._done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._done = []
