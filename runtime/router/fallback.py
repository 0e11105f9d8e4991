"""The configured fallback response a model answers with when every breaker of its deployments is open.

The seed's checklist asks for a circuit breaker on every LLM client *with a fallback*: a second
deployment, or a canned answer ("The assistant is unavailable, try again in a minute") that keeps a
product's UI working while every provider is down. It is returned only when all of the model's
deployments have an open breaker (a plain upstream error still fails as it did, so a client never
mistakes a bad request for an outage), costs nothing, is never cached, and is marked: the header
`x-skyrelay-fallback: breakers-open` and the deployment `fallback`.
"""

from pydantic import BaseModel, ConfigDict, Field

from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.router.breaker import State
from skyrelay.runtime.router.outcome import Outcome

FALLBACK_DEPLOYMENT = "fallback"
FALLBACK_HEADER = "x-skyrelay-fallback"


class FallbackResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, description="the assistant message returned while every breaker is open")


def all_open(states) -> bool:
    return bool(states) and all(s.breaker.current() is State.OPEN for s in states)


def fallback_outcome(fallback: FallbackResponse | None, states, exc: BaseException, headers: dict[str, str]) -> Outcome:
    """The marked fallback answer, or `exc` re-raised when there is no fallback or a breaker is not open."""
    if fallback is None or not all_open(states):
        raise exc
    result = ChatResult(fallback.text, Usage(), "stop", FALLBACK_DEPLOYMENT)
    return Outcome(result, FALLBACK_DEPLOYMENT, 0.0, False, {**headers, FALLBACK_HEADER: "breakers-open"})
