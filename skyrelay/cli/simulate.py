"""`skyrelay simulate`: the wire-level provider simulator (Bedrock, Azure OpenAI, Vertex, OpenAI)."""

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        port: int = typer.Option(8090, "--port", "-p", help="TCP port to listen on."),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
        latency_ms: float = typer.Option(0.0, "--latency-ms", help="Delay before the first byte / token."),
        chunk_ms: float = typer.Option(0.0, "--chunk-ms", help="Delay between stream chunks."),
        tokens: int = typer.Option(12, "--tokens", help="Output tokens per completion."),
    ) -> None:
        """Serve simulated provider APIs with fault injection (control API under /_sim/)."""
        from skyrelay.runtime.simulator.launch import serve_forever
        from skyrelay.runtime.simulator.state import SimConfig

        typer.echo(f"skyrelay simulator on http://{host}:{port}  (faults: POST /_sim/faults, counts: GET /_sim/calls)")
        serve_forever(host=host, port=port, config=SimConfig(latency_ms=latency_ms, chunk_ms=chunk_ms, tokens=tokens))
