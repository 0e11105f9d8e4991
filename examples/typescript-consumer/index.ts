// skyrelay's AWS CostGuard and AsyncJobs from TypeScript, through the component provider package.
// `@pulumi/skyrelay` is the SDK `pulumi package add ../../provider` generates (see README.md).
import * as skyrelay from "@pulumi/skyrelay";

// Monthly budget with 50/80/100% alerts, cost anomaly alerts and an encrypted alert topic.
const guard = new skyrelay.aws.CostGuard("guard", {
    budgetAmount: 500,
    costCenter: "ai-platform",
    alertEmails: ["finops@example.com"],
    forecastThreshold: 90,
});

// Queues with DLQs, the worker Lambda, the job table, secrets, alarms to the guard's topic, a dashboard.
const jobs = new skyrelay.aws.AsyncJobs("jobs", {
    workerTimeoutSeconds: 300,
    modelQuotaRpm: 1200,
    jobSecondsP50: 8.5,
    providerSecrets: ["openai"],
    environment: { SKYRELAY_LOG_LEVEL: "info" },
    alarmTopicArn: guard.topic.arn,
    overrides: { maxReceiveCount: 3, logRetentionDays: 90 },
});

export const queueUrl = jobs.interactiveQueueUrl;
export const batchQueueUrl = jobs.batchQueueUrl;
export const tableName = jobs.table.name;
export const alertTopicArn = guard.topic.arn;
