"""Point 7, budgets and anomaly alerts before the first traffic.

The row logic is one: a budget with actual-spend alerts at 50, 80 and 100 percent, each with a
subscriber, an anomaly alert with a subscriber, and the channel they notify reaching someone (an
alert nobody receives is no alert). Each cloud maps its resources to `Budget`s and `Anomaly`s:
- AWS: Budgets ACTUAL notifications; a Cost Explorer anomaly monitor and subscription; the SNS
  alert topic's subscriptions;
- Azure: a Consumption budget's `Actual` notifications (contact emails or action groups); a Cost
  Management InsightAlert scheduled action (the anomaly alert) with recipients; the action group's
  receivers;
- GCP: a Billing budget's CURRENT_SPEND threshold rules, whose updates go to notification channels
  (or the billing admins); GCP has no anomaly resource, so its substitute (CostGuard's spend-driver
  alert policy, docs in components/gcp/README.md) counts, and the row says so.
"""

from dataclasses import dataclass, field

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Budgets and anomaly alerts before the first traffic"
BUDGET = "aws:budgets/budget:Budget"
MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
ANOMALY_SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
AZURE_BUDGET = "azure-native:consumption:Budget"
AZURE_ANOMALY = "azure-native:costmanagement:ScheduledActionByScope"
AZURE_ACTION_GROUP = "azure-native:monitor:ActionGroup"
GCP_BUDGET = "gcp:billing/budget:Budget"
GCP_CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
GCP_ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
REQUIRED = (50, 80, 100)
FIX = "set skyrelay:budget (amount, emails, alertThresholds [50, 80, 100], anomalyThreshold): CostGuard creates them"


@dataclass
class Budget:
    name: str
    amount: str
    actual: dict[int, list[str]]  # percent -> subscribers of the actual-spend alert


@dataclass
class Anomaly:
    name: str
    subscribers: list[str]
    detail: str = ""


@dataclass
class Alerts:
    budgets: list[Budget] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    receivers: list[str] | None = None  # who the shared channel reaches; None: no shared channel
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check(subject: Subject) -> Row:
    mapping = {"aws": _aws, "azure": _azure, "gcp": _gcp}.get(subject.cloud)
    if mapping is None:
        return judged(7, TITLE, [f"no budget rule for {subject.cloud}"], [], FIX)
    alerts = mapping(subject)
    problems, evidence = list(alerts.problems), []
    if not alerts.budgets:
        problems.append("no budget in the plan")
    for b in alerts.budgets:
        missing = [t for t in REQUIRED if not b.actual.get(t)]
        if missing:
            problems.append(f"budget {b.name}: no actual-spend alert with a subscriber at {missing} percent")
        else:
            evidence.append(f"budget {b.name}: {b.amount}/month, alerts at {sorted(b.actual)} percent")
    live = [a for a in alerts.anomalies if a.subscribers]
    if not live:
        problems.append("no anomaly alert with a subscriber")
    for a in live:
        evidence.append(f"anomaly alert {a.name}: {len(a.subscribers)} subscriber(s){a.detail}")
    if alerts.receivers is not None:
        if not alerts.receivers:
            problems.append("the alert channel has no receiver: nobody receives the alerts")
        else:
            evidence.append(f"alert channel: {len(alerts.receivers)} receiver(s) ({', '.join(sorted(alerts.receivers))})")
    return judged(7, TITLE, problems, evidence, FIX, alerts.warnings)


def _aws(subject: Subject) -> Alerts:
    out, topics = Alerts(), set()
    for b in subject.of_type(BUDGET):
        actual = {}
        for n in b.inputs.get("notifications") or []:
            subscribers = [*(n.get("subscriberSnsTopicArns") or []), *(n.get("subscriberEmailAddresses") or [])]
            topics.update(n.get("subscriberSnsTopicArns") or [])
            if n.get("notificationType") == "ACTUAL" and n.get("thresholdType", "PERCENTAGE") == "PERCENTAGE":
                actual[int(n.get("threshold", 0))] = subscribers
        out.budgets.append(Budget(b.name, f"{b.inputs.get('limitAmount')} {b.inputs.get('limitUnit')}", actual))
    if not subject.of_type(MONITOR):
        out.problems.append("no cost anomaly monitor")
    for s in subject.of_type(ANOMALY_SUBSCRIPTION):
        subscribers = s.inputs.get("subscribers") or []
        topics.update(x.get("address") for x in subscribers if x.get("type") == "SNS")
        dim = ((s.inputs.get("thresholdExpression") or {}).get("dimension") or {})
        out.anomalies.append(Anomaly(s.name, [str(x.get("address")) for x in subscribers],
                                     f", impact >= {(dim.get('values') or ['?'])[0]}"))
    if topics:
        out.receivers = [str(t.inputs.get("protocol")) for t in subject.of_type(TOPIC_SUBSCRIPTION)
                         if t.inputs.get("topic") in topics]
    return out


def _azure(subject: Subject) -> Alerts:
    out = Alerts()
    groups = set()
    for b in subject.of_type(AZURE_BUDGET):
        actual = {}
        for n in (b.inputs.get("notifications") or {}).values():
            groups.update(n.get("contactGroups") or [])
            if n.get("thresholdType", "Actual") == "Actual" and n.get("enabled", True):
                actual[int(n.get("threshold", 0))] = [*(n.get("contactEmails") or []), *(n.get("contactGroups") or [])]
        out.budgets.append(Budget(b.name, f"{b.inputs.get('amount')} (subscription currency)", actual))
    for a in subject.of_type(AZURE_ANOMALY):
        if a.inputs.get("kind") != "InsightAlert":
            continue
        enabled = a.inputs.get("status", "Enabled") == "Enabled"
        to = ((a.inputs.get("notification") or {}).get("to") or []) if enabled else []
        out.anomalies.append(Anomaly(a.name, list(to), f", {((a.inputs.get('schedule') or {}).get('frequency'))} "
                                                       "anomaly insight"))
    if groups:
        out.receivers = ["email" for g in subject.of_type(AZURE_ACTION_GROUP) if g.inputs.get("enabled", True)
                         for _ in g.inputs.get("emailReceivers") or []]
    return out


def _gcp(subject: Subject) -> Alerts:
    out = Alerts()
    channels = {c.name: c for c in subject.of_type(GCP_CHANNEL)}
    for b in subject.of_type(GCP_BUDGET):
        rule = b.inputs.get("allUpdatesRule") or {}
        subscribers = list(rule.get("monitoringNotificationChannels") or [])
        if not rule.get("disableDefaultIamRecipients", False):
            subscribers.append("the billing account's admins")
        actual = {round(float(r.get("thresholdPercent", 0)) * 100): subscribers
                  for r in b.inputs.get("thresholdRules") or [] if r.get("spendBasis", "CURRENT_SPEND") == "CURRENT_SPEND"}
        amount = ((b.inputs.get("amount") or {}).get("specifiedAmount") or {})
        out.budgets.append(Budget(b.name, f"{amount.get('units')} {amount.get('currencyCode')}", actual))
    for p in subject.of_type(GCP_ALERT_POLICY):
        doc = str(((p.inputs.get("documentation") or {}).get("subject")) or "")
        if "spend driver" in doc.lower():
            out.anomalies.append(Anomaly(p.name, list(p.inputs.get("notificationChannels") or []),
                                         " (the spend-driver alert: GCP has no cost anomaly resource)"))
    if channels:
        out.receivers = [str(c.inputs.get("type")) for c in channels.values()]
    if out.anomalies:
        out.warnings.append("GCP has no cost anomaly alert resource: the spend-driver alert policy stands in for it "
                            "(it sees request-rate spikes of the billed APIs, not the bill itself)")
    return out
