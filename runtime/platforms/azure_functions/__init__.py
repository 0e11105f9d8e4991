"""Azure Functions platform (Python v2 programming model, Flex Consumption): thin adapters around the
ASGI app and the job worker.

- `function_app.app`: the `azure.functions.FunctionApp` the host indexes: the API over an HTTP trigger
  (`/v1/*`, function key), one Service Bus trigger per priority queue, and a timer for the sweeper.
  The deployable zip's root `function_app.py` imports it (`from skyrelay.runtime.platforms.
  azure_functions.function_app import app`), and `host.json` beside this module goes to the zip root.
- `runtime`: the Azure deployment (what AsyncJobs wrote into the app settings) and its start-up.
- `worker`: a trigger message -> the shared push delivery -> complete, abandon (raise) or dead-letter.
Everything heavy is imported on the first invocation that needs it.
"""

import os

# The zip carries no pydantic plugins: skip the look-up (and importlib.metadata) as on Lambda.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
