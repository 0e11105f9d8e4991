"""Serves the provider over gRPC the way the engine expects: `python <plugin folder> ENGINE_ADDRESS`
prints the port it listens on (loopback) and serves until the engine ends it."""

from pulumi.provider import main

from skyrelay.provider.provider import SkyrelayProvider


def serve(args: list[str]) -> None:
    main(SkyrelayProvider(), args)
