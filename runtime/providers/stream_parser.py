"""What every provider's stream parser shares: deltas before a bad chunk are delivered first.

A parser that meets a malformed chunk or an in-stream error after it has produced text returns that
text now and raises the error on the next call, so the caller sends everything the upstream really
said before it ends the stream with an error event.
"""

from skyrelay.runtime.canonical import StreamDelta
from skyrelay.runtime.errors import ProviderError


class DeferredErrorParser:
    """Base class: subclasses implement `_feed(chunk, out)` and append their deltas to `out`."""

    __slots__ = ("_done", "_saw_text", "_error")

    def __init__(self) -> None:
        self._done = False
        self._saw_text = False
        self._error: ProviderError | None = None

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        if self._error is not None:
            raise self._error
        out: list[StreamDelta] = []
        try:
            self._feed(chunk, out)
        except ProviderError as exc:
            if not out:
                raise
            self._error = exc
        return out

    def _feed(self, chunk: bytes, out: list[StreamDelta]) -> None:
        raise NotImplementedError

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error
