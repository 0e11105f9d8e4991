"""Embeddings on the four providers: the per-provider translators (`providers/<kind>/embed.py`: `build`,
`parse`, `max_batch`, `refuses`) and the one I/O function, which batches.

    result = await embed(upstream, request, timeout=30)     # EmbeddingResult, or a canonical ProviderError

The inputs are split into batches of the provider's limit (Titan v2: 1 text per call, Cohere on Bedrock:
96, Vertex: 250, Azure and OpenAI: 2,048), sent concurrently on the pooled session of the upstream's
origin, signed like chat calls, and joined back in input order. Any batch failing fails the call (the
router then fails over the whole request): a partial answer is never returned. Errors map through the
provider's chat error mapping (same status codes and error bodies).
"""

import asyncio
import importlib

import aiohttp

from skyrelay.runtime.canonical import EmbeddingRequest, EmbeddingResult
from skyrelay.runtime.errors import ProviderError, UpstreamServerError, UpstreamTimeout
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.registry import adapter_for

_MODULES: dict[str, object] = {}


def translator(kind: str):
    """The `embed` module of a provider kind (imported on first use)."""
    mod = _MODULES.get(kind)
    if mod is None:
        adapter_for(kind)  # validates the kind
        mod = _MODULES[kind] = importlib.import_module(f"skyrelay.runtime.providers.{kind}.embed")
    return mod


def batches(inputs: list[str], size: int) -> list[list[str]]:
    return [inputs[i:i + size] for i in range(0, len(inputs), size)]


async def embed(upstream: Upstream, request: EmbeddingRequest, timeout: float) -> EmbeddingResult:
    from skyrelay.runtime.providers.client import session_for, url_of

    mod = translator(upstream.provider)
    adapter, signer = adapter_for(upstream.provider)

    async def one(inputs: list[str]) -> tuple[list[list[float]], int]:
        call = mod.build(upstream, request, inputs)
        await signer.sign(upstream, call)
        async with session_for(call.url).request(call.method, url_of(call.url), data=call.body,
                                                 headers=call.headers) as resp:
            body = await resp.read()
            if resp.status >= 300:
                raise adapter.error(resp.status, resp.headers, body)
            vectors, tokens = mod.parse(resp.headers, body)
        if len(vectors) != len(inputs):
            raise UpstreamServerError(f"{upstream.model}: {len(vectors)} vectors for {len(inputs)} inputs")
        return vectors, tokens

    try:
        async with asyncio.timeout(timeout):
            groups = batches(request.inputs, mod.max_batch(upstream))
            parts = [await one(groups[0])] if len(groups) == 1 else await asyncio.gather(*(one(b) for b in groups))
    except ProviderError:
        raise
    except TimeoutError:
        raise UpstreamTimeout(f"{upstream.provider} {upstream.model}: no embeddings within {timeout:.3g}s") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise UpstreamServerError(f"{upstream.provider} {upstream.model}: {type(exc).__name__}: {exc}") from None
    return EmbeddingResult([v for vectors, _ in parts for v in vectors], sum(t for _, t in parts))
