"""Cloud Run platform: two services from one source, chosen by `--role`.

    python -m skyrelay.runtime.platforms.cloud_run --role api      # the API (API Gateway's backend)
    python -m skyrelay.runtime.platforms.cloud_run --role worker   # Cloud Tasks' and Cloud Scheduler's target

Both serve on $PORT with uvicorn (runtime/api/server.py's settings) and stop gracefully on SIGTERM
(Cloud Run sends it, then waits 10 s: in-flight requests get the job's shutdown grace, an unfinished
job is released back to PENDING and its push answered as failed, so Cloud Tasks retries it).

- `runtime`: the GCP deployment (what AsyncJobs and JobsApi wrote into the services' environment)
  and its start-up;
- `worker`: the push endpoint POST /tasks (one Cloud Tasks push -> the shared push delivery -> the
  HTTP answer), POST /sweep and POST /batch (Cloud Scheduler ticks), every one behind the OIDC check
  (runtime/clouds/gcp/oidc.py);
- `__main__`: the command line above.
Everything heavy is imported when the role starts.
"""

import os

# The source carries no pydantic plugins: skip the look-up (and importlib.metadata) as on Lambda.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
