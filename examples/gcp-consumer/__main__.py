"""A separate Pulumi program that reuses skyrelay's GCP AsyncJobs component with minimal args.

`pip install skyrelay[iac]`, `pulumi config set gcp:project <id>`, then `pulumi up` here (or
`skyrelay plan --program examples/gcp-consumer` offline). Everything else (OIDC-only pushes to a
private worker, retry config and rate limits from the model quota, the dispatch deadline, PITR and
delete protection, the TTL policy, secrets as references, alerts, the dashboard) comes from the defaults.
"""

import pulumi

from skyrelay.components.gcp import AsyncJobs

config = pulumi.Config()

jobs = AsyncJobs(
    "summaries",
    {
        "location": config.get("location") or "europe-west1",
        "worker_timeout_seconds": config.get_int("workerTimeoutSeconds") or 600,
    },
)

pulumi.export("worker_url", jobs.worker_url)
pulumi.export("database", jobs.database.name)
pulumi.export("interactive_queue", jobs.interactive_queue.name)
