"""A separate Pulumi program that reuses skyrelay's AWS AsyncJobs component with minimal args.

`pip install skyrelay[iac]`, then `pulumi up` here (or `skyrelay plan --program examples/aws-consumer`
offline). Everything else (DLQs, encryption, TLS-only policies, the computed visibility timeout,
X-Ray, log retention, least privilege, PITR, deletion protection) comes from the defaults.
"""

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws import AsyncJobs

config = pulumi.Config()
alerts = aws.sns.Topic("alerts", kms_master_key_id="alias/aws/sns")

jobs = AsyncJobs(
    "summaries",
    {
        "worker_timeout_seconds": config.get_int("workerTimeoutSeconds") or 300,
        "alarm_topic_arn": alerts.arn,
    },
)

pulumi.export("queue_url", jobs.interactive_queue_url)
pulumi.export("table_name", jobs.table.name)
pulumi.export("worker", jobs.worker.name)
