"""What every limiter backend shares: the reservation, the up-front policy checks and token estimates."""

from dataclasses import dataclass, field
from typing import Protocol

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import MaxTokensOverCap, ModelNotAllowed, RateLimited
from skyrelay.tiers import ModelClass, Tier

WINDOW_S = 60.0


@dataclass(slots=True)
class Reservation:
    tenant: str
    tokens: int  # tokens taken from the TPM bucket up front
    stream_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-* for the response
    settled: bool = False


class Limiter(Protocol):
    async def acquire(self, tenant: str, tier: Tier, tokens: int, stream: bool = False) -> Reservation:
        """Admits one request (RPM), reserves `tokens` (TPM) and, for a stream, a stream slot; all or none.

        Raises RateLimited(retry_after) with `.headers` and `.dimension` when over any limit.
        """

    async def settle(self, reservation: Reservation, tier: Tier, used_tokens: int) -> None:
        """Returns `reservation.tokens - used_tokens` to the TPM bucket and frees the stream slot."""

    async def close(self) -> None: ...


def effective_max_tokens(tier: Tier, request: ChatRequest, default: int | None = None) -> int:
    """The max_tokens a request is sent upstream with: what the client asked for, refused when over the
    tier's cap; when the client gave none, the cap, or `default` when that is lower (`api.default_max_tokens`).
    The one place this is decided: the router applies it to every request it sends (chat, stream, jobs)."""
    cap = tier.max_tokens_cap
    asked = request.max_tokens
    if asked is None:
        return cap if default is None else min(cap, default)
    if asked > cap:
        raise MaxTokensOverCap(f"{request.max_tokens_field} {asked} is over the {tier.name.value} tier cap of {cap}")
    return asked


def check_request(tier: Tier, model_class: ModelClass, request: ChatRequest, default_max_tokens: int | None = None) -> int:
    """Up-front rejections, before any limiter or upstream call. Returns the effective max_tokens."""
    if not tier.allows(model_class):
        raise ModelNotAllowed(f"the {tier.name.value} tier may not use model {request.model!r} ({model_class.value})")
    return effective_max_tokens(tier, request, default_max_tokens)


def estimate_prompt(messages: list[Message]) -> int:
    """A cheap, deliberately generous prompt-token estimate (about 4 characters a token)."""
    return sum(len(m.content) for m in messages) // 4 + 4 * len(messages) + 3


def reserve_for(prompt_estimate: int, max_tokens: int | None, tier: Tier) -> int:
    cap = tier.max_tokens_cap
    return prompt_estimate + (cap if max_tokens is None else min(max_tokens, cap))


def limit_headers(tier: Tier, requests_left: int, tokens_left: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(tier.rpm),
        "x-ratelimit-remaining-requests": str(max(0, requests_left)),
        "x-ratelimit-limit-tokens": str(tier.tpm),
        "x-ratelimit-remaining-tokens": str(max(0, int(tokens_left))),
    }


def limited(dimension: str, retry_after: float, headers: dict[str, str]) -> RateLimited:
    exc = RateLimited(f"over the {dimension} limit of your tier", retry_after=max(retry_after, 0.001))
    exc.dimension = dimension
    exc.headers = headers
    return exc
