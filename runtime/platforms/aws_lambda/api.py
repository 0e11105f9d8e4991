"""The API handler: the runtime's ASGI app (with the jobs routes) behind Mangum, for API Gateway
REST v1 proxy events. Jobs go to DynamoDB + SQS; the app is built on the first invocation."""

import os

from skyrelay import deployment as contract
from skyrelay.runtime.platforms.aws_lambda import runtime
from skyrelay.runtime.platforms.bootstrap import api_app as build_app

_state: dict = {}


def make_handler(app):
    from mangum import Mangum

    adapter = Mangum(app, lifespan="off", api_gateway_base_path=os.environ.get(contract.BASE_PATH, "/"))

    def handle(event, context=None):
        runtime.loop()  # Mangum runs the app on the current event loop: the container's one
        return adapter(event, context or _Context())

    return handle


class _Context:
    """Mangum reads nothing from the context we rely on; tests pass none."""

    function_name = "skyrelay-api"
    aws_request_id = "local"


def _build():
    started = runtime.start()
    return make_handler(build_app(started.config, started.store, started.queue, started.jobs))


def handler(event, context=None):
    if "handler" not in _state:
        _state["handler"] = _build()
    return _state["handler"](event, context)
