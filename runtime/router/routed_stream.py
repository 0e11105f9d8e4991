"""A committed stream: relays the deltas after the first chunk, and settles limits and cost when it ends."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta, Usage, gather_tool_calls
from skyrelay.runtime.errors import UpstreamServerError, UpstreamTimeout
from skyrelay.runtime.router.failover import judge
from skyrelay.runtime.router.strategies import DeploymentState

if TYPE_CHECKING:
    from skyrelay.runtime.router.router import Router


async def close_quietly(it) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # the stream is being abandoned; its error was already judged
            await close()



async def collect(it: AsyncIterator[StreamDelta], first: StreamDelta, model: str, within: float) -> ChatResult:
    """A whole answer, within `within` seconds, from a stream whose first delta was already read. The
    provider streams read the remainder at once and bound it themselves (`rest`); any other async iterator
    is iterated under a timer here."""
    rest = getattr(it, "rest", None)
    if rest is not None:
        deltas = await rest(within)
    else:
        async with asyncio.timeout(within):
            deltas = [d async for d in it]
    texts: list[str] = []
    usage = finish = calls = logprobs = None
    others: dict[int, list] = {}  # n > 1: choice -> [texts, calls, finish]
    for delta in (first, *deltas):
        if delta.choice:
            other = others.setdefault(delta.choice, [[], None, None])
            other[0].append(delta.text)
            if delta.tool_calls:
                other[1] = gather_tool_calls(delta.tool_calls, other[1])
            other[2] = delta.finish_reason or other[2]
            continue
        texts.append(delta.text)
        if delta.logprobs:
            logprobs = (logprobs or []) + delta.logprobs
        usage = delta.usage or usage
        finish = delta.finish_reason or finish
        if delta.tool_calls:
            calls = gather_tool_calls(delta.tool_calls, calls)
    text = "".join(texts)
    if usage is None:
        usage = Usage(output_tokens=estimate_output(len(text)))
    tool_calls = [calls[i] for i in sorted(calls)] if calls else None
    result = ChatResult(text, usage, finish or "stop", model, tool_calls, logprobs)
    if others:
        result.choices = [ChatResult("".join(t), Usage(), f or "stop", model, [c[i] for i in sorted(c)] if c else None)
                          for _, (t, c, f) in sorted(others.items())]
    return result


class RoutedStream:
    """A committed stream. Iterate it for `StreamDelta`s; always iterate to the end or `aclose()` it.

    Raises a `ProviderError` if the upstream fails after the first chunk (never switches provider).
    Settles the limiter and records cost when it ends, however it ends.
    """

    def __init__(self, router: "Router", tenant: str, tier, dep: DeploymentState, request: ChatRequest,
                 estimate: int, reservation, it: AsyncIterator[StreamDelta], first: StreamDelta, t0: float,
                 bounded: bool = False):
        self.router = router
        self.tenant = tenant
        self.tier = tier
        self.dep = dep
        self.deployment = dep.name
        self.request = request
        self.estimate = estimate
        self.reservation = reservation
        self.headers = reservation.headers
        self.upstream_s = router.clock() - t0
        self.usage: Usage | None = None
        self.cost = 0.0
        self.ended = False  # set when the stream has ended, however it ended, and its accounting began
        self._it = it
        self._first = first
        self._t0 = t0
        self._bounded = bounded  # `it` bounds each read by the idle timeout itself (the provider client)
        self._gen = self._run()

    def __aiter__(self):
        return self._gen

    def ready(self) -> bool:
        """True when the next delta (or the end) is already buffered, so taking it waits on no I/O.
        The API uses it to send deltas that arrived together in one write."""
        ready = getattr(self._it, "ready", None)
        return ready() if ready is not None else False

    async def aclose(self) -> None:
        """Ends the stream: closes the upstream and does the accounting, even when it was never iterated."""
        await self._gen.aclose()
        if not self.ended:  # never started: the generator's own `finally` never ran
            await self._finish(0, None, "client_closed")

    async def _run(self):
        r = self.router
        it, bounded = self._it, self._bounded
        chars = 0
        error: BaseException | None = None
        outcome: str | None = "client_closed"  # unless it ends (ok) or fails (error) below
        delta = self._first
        try:
            while True:
                chars += len(delta.text)
                if delta.tool_calls:  # arguments are output too, when the provider reports no usage
                    chars += sum(len(p.get("arguments") or "") for p in delta.tool_calls)
                if delta.usage is not None:
                    self.usage = delta.usage
                yield delta
                try:
                    if bounded:
                        delta = await anext(it)
                    else:
                        async with asyncio.timeout(r.timeouts.idle_s):
                            delta = await anext(it)
                except StopAsyncIteration:
                    outcome = None
                    return
                except TimeoutError:
                    raise UpstreamTimeout(f"{self.deployment}: stream idle for {r.timeouts.idle_s:.3g}s") from None
                except UpstreamTimeout:  # the client's own idle timer: reported as this one would have been
                    if not bounded:
                        raise
                    raise UpstreamTimeout(f"{self.deployment}: stream idle for {r.timeouts.idle_s:.3g}s") from None
                except OSError as exc:
                    raise UpstreamServerError(f"{self.deployment}: {exc.__class__.__name__}") from None
        except (GeneratorExit, asyncio.CancelledError):  # the consumer left before the end (a client disconnect)
            raise
        except BaseException as exc:
            error, outcome = exc, None
            raise
        finally:
            await self._finish(chars, error, outcome)

    async def _finish(self, chars: int, error: BaseException | None, outcome: str | None) -> None:
        """Closes the upstream, judges the attempt and bills what was relayed. Only now is the attempt judged:
        a stream that fails after its first chunk is a failure of its deployment; one that the client left
        (`outcome` "client_closed") says nothing about it."""
        r = self.router
        self.ended = True
        await close_quietly(self._it)
        seconds = r.clock() - self._t0
        if error is None and outcome is None:
            self.dep.observe(seconds)
        judge(self.dep, r.observer, seconds, error, outcome)
        usage = self.usage or Usage(input_tokens=self.estimate, output_tokens=estimate_output(chars))
        self.cost = r.ledger.record(self.tenant, self.deployment, self.request.model, usage, self.dep.cfg.price)
        r.observer.usage(self.tenant, self.deployment, self.request.model, usage, self.cost)
        await r.limiter.settle(self.reservation, self.tier, usage.total_tokens)


def estimate_output(chars: int) -> int:
    """The output tokens billed for `chars` characters of text when the provider reported no usage
    (a stream that was cut, or that the client left): about 4 characters a token, rounded up."""
    return (chars + 3) // 4
