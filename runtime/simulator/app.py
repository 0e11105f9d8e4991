"""The simulator's aiohttp application."""

from aiohttp import web

from skyrelay.runtime.simulator import (
    batch_jobs,
    control,
    wire_bedrock,
    wire_embeddings,
    wire_openai,
    wire_vertex,
)
from skyrelay.runtime.simulator.engine import STATE_KEY
from skyrelay.runtime.simulator.state import SimConfig, SimState


def make_app(config: SimConfig | None = None) -> web.Application:
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[STATE_KEY] = SimState(config)
    control.add_routes(app)
    wire_openai.add_routes(app)
    wire_bedrock.add_routes(app)
    wire_vertex.add_routes(app)
    wire_embeddings.add_routes(app)  # /v1/embeddings, Azure embeddings, Bedrock invoke (Titan, Cohere)
    batch_jobs.add_routes(app)  # the batch APIs (Bedrock, Azure OpenAI, Vertex) over object storage
    return app
