"""The Function App (Python v2 programming model) the Functions host indexes:

- `api`: an HTTP trigger on every path (host.json routePrefix ""), function-key auth (API Management
  calls it with the key; never anonymous), serving the runtime's ASGI app through
  `azure.functions.AsgiMiddleware` (responses are buffered: an SSE stream arrives whole);
- `interactive`, `batch`: one Service Bus trigger per priority queue (the queue names are app
  settings, bound as %SKYRELAY_QUEUE_<P>_NAME%; the connection is the host's identity-based
  `ServiceBusConnection__fullyQualifiedNamespace`), each message handed to the job worker (worker.py);
- `sweeper`: a timer (every minute) re-enqueueing PENDING jobs that lost their message;
- `batcher`: a timer (every 5 minutes, the AWS batch schedule's period) running one batcher tick:
  form, submit and poll provider batch jobs (runtime/batch; off without a batch container).

The API app and the worker are built on their first invocation, from the app settings
(runtime.py). `make_app(api=..., worker=...)` builds the same functions over given factories (tests).
"""

import azure.functions as func

from skyrelay import deployment as contract

SWEEP_SCHEDULE = "0 * * * * *"  # NCRONTAB with seconds: every minute
BATCH_SCHEDULE = "0 */5 * * * *"  # every 5 minutes, as components/aws's batch_schedule rate(5 minutes)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _build_api():
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.azure_functions import runtime

    started = runtime.start()
    return bootstrap.api_app(started.config, started.store, started.queue, started.jobs)


def _build_worker():
    from skyrelay.runtime.platforms.azure_functions.worker import build

    return build()


def make_app(api=_build_api, worker=_build_worker) -> func.FunctionApp:
    """The FunctionApp over `api()` (an ASGI app) and `worker()` (a worker.Handlers), each called once."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    state: dict = {}
    app.skyrelay_state = state  # what the functions built (tests close it)

    def handlers():
        if "worker" not in state:
            state["worker"] = worker()
        return state["worker"]

    @app.function_name("api")
    @app.route(route="{*path}", methods=METHODS, auth_level=func.AuthLevel.FUNCTION)
    async def api_function(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        if "api" not in state:
            state["api"] = func.AsgiMiddleware(api())
        return await state["api"].handle_async(req, context)

    @app.function_name("interactive")
    @app.service_bus_queue_trigger(arg_name="msg", queue_name=f"%{contract.queue_name('interactive')}%",
                                   connection=contract.SERVICEBUS_CONNECTION_SETTING)
    async def interactive(msg: func.ServiceBusMessage) -> None:
        await handlers().message(msg, "interactive")

    @app.function_name("batch")
    @app.service_bus_queue_trigger(arg_name="msg", queue_name=f"%{contract.queue_name('batch')}%",
                                   connection=contract.SERVICEBUS_CONNECTION_SETTING)
    async def batch(msg: func.ServiceBusMessage) -> None:
        await handlers().message(msg, "batch")

    @app.function_name("sweeper")
    @app.timer_trigger(arg_name="timer", schedule=SWEEP_SCHEDULE, run_on_startup=False)
    async def sweeper(timer: func.TimerRequest) -> None:
        await handlers().sweep()

    @app.function_name("batcher")
    @app.timer_trigger(arg_name="timer", schedule=BATCH_SCHEDULE, run_on_startup=False)
    async def batcher(timer: func.TimerRequest) -> None:
        await handlers().batch_tick()

    return app


app = make_app()
