"""Simulator settings and the state tests observe: call counts and the prompt-cache memory."""

from collections import defaultdict, deque
from dataclasses import asdict, dataclass, replace

from skyrelay.runtime.simulator.faults import FaultRegistry


@dataclass(slots=True)
class SimConfig:
    latency_ms: float = 0.0  # before the response headers (sync) / the first chunk (stream)
    chunk_ms: float = 0.0  # gap between stream chunks; sync responses wait chunks * chunk_ms too
    tokens: int = 12  # output tokens (words) per completion, capped by the request's max tokens
    chunks: int = 0  # content chunks per stream; 0 = one per token
    auto_cache_min_tokens: int = 1024  # OpenAI/Azure: shortest prefix that is cached automatically
    vertex_cached_tokens: int = 2048  # Vertex: size reported for any `cachedContent` resource
    context_window: int = 0  # if > 0, prompts with more input tokens get a context-length error

    def updated(self, values: dict) -> "SimConfig":
        known = {k: v for k, v in values.items() if k in asdict(self)}
        return replace(self, **known)


# Per-request overrides: header -> config field.
OVERRIDE_HEADERS = {"x-sim-latency-ms": "latency_ms", "x-sim-chunk-ms": "chunk_ms", "x-sim-tokens": "tokens",
                    "x-sim-chunks": "chunks"}


class SimState:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.initial = config or SimConfig()
        self.config = self.initial
        self.faults = FaultRegistry()
        self.calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.by_provider: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.prefixes: set[tuple[str, str, int]] = set()
        self.client_closed: dict[str, int] = defaultdict(int)
        self.sequence = 0
        self.requests: deque = deque(maxlen=500)  # the bodies received, for tests to compare with SDKs

    def record(self, provider: str, model: str, path: str, body: dict) -> None:
        self.requests.append({"provider": provider, "model": model, "path": path, "body": body})

    def count(self, provider: str, model: str, outcome: str) -> None:
        per = self.calls[model]
        per["total"] += 1
        per[outcome] += 1
        self.by_provider[provider][model] += 1
        self.sequence += 1

    def client_left(self, model: str) -> None:
        """Counts a stream whose client closed the connection before its end."""
        self.client_closed[model] += 1

    def seen_prefix(self, provider: str, model: str, key: int) -> bool:
        """True if this prefix was cached before; remembers it either way."""
        item = (provider, model, key)
        if item in self.prefixes:
            return True
        self.prefixes.add(item)
        return False

    def snapshot(self) -> dict:
        return {
            "total": sum(c["total"] for c in self.calls.values()),
            "models": {m: dict(c) for m, c in self.calls.items()},
            "providers": {p: dict(c) for p, c in self.by_provider.items()},
            "client_closed": dict(self.client_closed),
        }

    def reset(self) -> None:
        self.calls.clear()
        self.by_provider.clear()
        self.prefixes.clear()
        self.client_closed.clear()
        self.requests.clear()
        self.faults.clear()
        self.config = self.initial
