"""Helpers the provider translator tests share."""


def feed_in_steps(parser, data: bytes, step: int) -> list:
    """Feeds `data` to a stream parser `step` bytes at a time, closes it, and returns every delta."""
    deltas = []
    for i in range(0, len(data), step):
        deltas += parser.feed(data[i:i + step])
    parser.close()
    return deltas
