"""Ending a stream at once when its client disconnects.

uvicorn's `send` drops the bytes of a closed connection without a word, so a streaming endpoint that
only writes never learns that its client left: the upstream would stream on (the provider generating,
the tenant billed) and the tenant's stream slot stay taken until the upstream's end.
"""

import asyncio

CLIENT_CLOSED = 499  # the status recorded (never sent) for a stream whose client left before its end


class DisconnectWatch:
    """Cancels the streaming task as soon as the ASGI server reports the client's disconnect. Only while the
    stream is live: once it has ended, its accounting (breaker, cost, limiter settle) runs uninterrupted.
    The endpoint catches the CancelledError, asks `left()` whether it was this watch's, and returns."""

    __slots__ = ("stream", "task", "gone", "_watcher")

    def __init__(self, receive, stream):
        self.stream = stream
        self.task = asyncio.current_task()
        self.gone = False
        self._watcher = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive) -> None:
        while (await receive())["type"] != "http.disconnect":  # the body was read: only a disconnect is left
            pass
        if not self.stream.ended:
            self.gone = True
            self.task.cancel()

    def left(self) -> bool:
        """True when the cancellation being handled is this watch's (the client left); it is then withdrawn."""
        if self.gone:
            self.task.uncancel()
            return True
        return False

    def stop(self) -> None:
        self._watcher.cancel()
