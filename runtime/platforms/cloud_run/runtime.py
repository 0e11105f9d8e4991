"""The GCP deployment: what AsyncJobs and JobsApi wrote into the Cloud Run services' environment
(named in skyrelay/deployment.py, the "GCP (issue 12)" block), read once per instance.

The components deploy one Firestore database and collection (the job store and the shared limiter),
one Cloud Tasks queue per priority whose tasks push to the worker's WORKER_URL with an OIDC token for
TASKS_SERVICE_ACCOUNT (audience OIDC_AUDIENCE, dispatch deadline DISPATCH_DEADLINE_SECONDS), and
Secret Manager secrets. Secrets need no code here: the service's env entries are Secret Manager
references (`value_source.secret_key_ref`), resolved by Cloud Run before the process starts, under
their own names (SKYRELAY_WEBHOOK_SECRET, SKYRELAY_PROVIDER_<NAME>_SECRET). So `load_secrets` is None.
Every Google call authenticates as the service's own service account. TASKS_ENDPOINT, OIDC_CERTS_URL
and FIRESTORE_EMULATOR_HOST exist for tests only.

The queue's visibility timeout (the worker's claim on a job) is the dispatch deadline: that is how
long Cloud Tasks waits for a push's answer before it retries the task.
"""

import os

from skyrelay import deployment as contract
from skyrelay.runtime.platforms import bootstrap


def _firestore(env) -> dict:
    return {"project": env.get(contract.GCP_PROJECT), "collection": env.get(contract.FIRESTORE_COLLECTION),
            "database": env.get(contract.FIRESTORE_DATABASE) or None}


def _store(env) -> dict:
    return {"backend": "firestore", "options": _firestore(env)}


def _queue(env) -> dict:
    options = {"worker_url": env.get(contract.WORKER_URL), "service_account": env.get(contract.TASKS_SERVICE_ACCOUNT),
               "audience": env.get(contract.OIDC_AUDIENCE), "endpoint": env.get(contract.TASKS_ENDPOINT),
               "dispatch_deadline_s": env.get(contract.DISPATCH_DEADLINE_SECONDS)}
    for p in contract.PRIORITIES:
        options[f"{p}_queue"] = env.get(contract.tasks_queue(p))
    out: dict = {"backend": "cloudtasks", "options": options}
    if env.get(contract.DISPATCH_DEADLINE_SECONDS):
        out["visibility_timeout_s"] = float(env[contract.DISPATCH_DEADLINE_SECONDS])
    return out


def _shared_limiter(env) -> dict | None:
    """The job collection holds the counters: shared by every instance, no Memorystore needed. (A stack
    that deploys Memorystore names `limiter: {backend: redis}` in the config, which is kept.)"""
    if not env.get(contract.FIRESTORE_COLLECTION):
        return None
    f = _firestore(env)
    return {"backend": "firestore", "firestore_project": f["project"], "firestore_collection": f["collection"],
            "firestore_database": f["database"]}


def _storage(env) -> dict | None:
    """Batch work's GCS bucket, or None when the stack deployed none."""
    if not env.get(contract.BATCH_BUCKET):
        return None
    return {"backend": "gcs", "options": {"bucket": env[contract.BATCH_BUCKET], "project": env.get(contract.GCP_PROJECT)}}


GCP = bootstrap.Deployment("gcp", store=_store, queue=_queue, shared_limiter=_shared_limiter, load_secrets=None,
                           storage=_storage)


def start(env=None) -> bootstrap.Started:
    env = os.environ if env is None else env
    return bootstrap.start(GCP, env, root=".")  # the build runs the service from the source root
