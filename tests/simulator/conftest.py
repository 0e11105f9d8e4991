"""Helpers for the simulator's own tests. The fixtures `simulator` (session: a `SimControl` for one
simulator started with `start_in_thread()`; `simulator.base_url` is e.g. "http://127.0.0.1:41234")
and `sim` (the same, reset before the test) live in tests/conftest.py.
- `upstream_for(provider, model, base_url, **kw)`: an `Upstream` that points at the simulator.
- `arun(coro)`: runs a coroutine on a fresh loop and closes the provider client's sessions after.
- `REQ`, a small chat request; `SHORT` / `GENEROUS`, the timeouts fault tests give the client.
"""

import asyncio

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.providers import client
from skyrelay.runtime.providers.base import Upstream


def arun(coro):
    async def main():
        try:
            return await coro
        finally:
            await client.close_all()

    return asyncio.run(main())


def upstream_for(provider: str, model: str, base_url: str, **kw) -> Upstream:
    defaults = {
        "bedrock": {"region": "us-east-1", "auth": "none"},
        "azure_openai": {"api_version": "2024-10-21", "auth": "api_key", "api_key": "sim-key"},
        "vertex": {"project": "sim-project", "location": "us-central1", "auth": "none"},
        "openai_compat": {"auth": "api_key", "api_key": "sk-sim"},
    }[provider]
    return Upstream(provider=provider, model=model, endpoint=base_url, **{**defaults, **kw})


PROVIDERS = ("bedrock", "azure_openai", "vertex", "openai_compat")
REQ = ChatRequest("l", [Message("user", "one two three")])
SHORT = 0.3  # only where a timeout is the expected outcome
GENEROUS = 5.0  # everywhere else, so a loaded CI machine cannot turn a 429 into a timeout

