"""Point 7, budgets and anomaly alerts before the first traffic.

On AWS: a budget with ACTUAL-spend notifications at 50, 80 and 100 percent, each with a subscriber,
a cost anomaly monitor and an anomaly subscription with a subscriber, and the alert topic they
notify having at least one subscription (an alert nobody receives is no alert).
"""

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Budgets and anomaly alerts before the first traffic"
BUDGET = "aws:budgets/budget:Budget"
MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
ANOMALY_SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
REQUIRED = (50, 80, 100)
FIX = "set skyrelay:budget (amount, emails, alertThresholds [50, 80, 100], anomalyThreshold): CostGuard creates them"


def check(subject: Subject) -> Row:
    if subject.cloud != "aws":
        return judged(7, TITLE, [f"no budget rule for {subject.cloud} yet"], [], FIX)
    problems, evidence = [], []
    budgets = subject.of_type(BUDGET)
    if not budgets:
        problems.append("no budget in the plan")
    topics: set[str] = set()
    for b in budgets:
        actual = {}
        for n in b.inputs.get("notifications") or []:
            subscribers = [*(n.get("subscriberSnsTopicArns") or []), *(n.get("subscriberEmailAddresses") or [])]
            topics.update(n.get("subscriberSnsTopicArns") or [])
            if n.get("notificationType") == "ACTUAL" and n.get("thresholdType", "PERCENTAGE") == "PERCENTAGE":
                actual[int(n.get("threshold", 0))] = subscribers
        missing = [t for t in REQUIRED if not actual.get(t)]
        if missing:
            problems.append(f"budget {b.name}: no ACTUAL notification with a subscriber at {missing} percent")
        else:
            evidence.append(f"budget {b.name}: {b.inputs.get('limitAmount')} {b.inputs.get('limitUnit')}/month, "
                            f"alerts at {sorted(actual)} percent")
    monitors, subs = subject.of_type(MONITOR), subject.of_type(ANOMALY_SUBSCRIPTION)
    if not monitors:
        problems.append("no cost anomaly monitor")
    live = [s for s in subs if s.inputs.get("subscribers")]
    if not live:
        problems.append("no anomaly subscription with a subscriber")
    for s in live:
        topics.update(x.get("address") for x in s.inputs["subscribers"] if x.get("type") == "SNS")
        dim = ((s.inputs.get("thresholdExpression") or {}).get("dimension") or {})
        evidence.append(f"anomaly subscription {s.name}: {len(s.inputs['subscribers'])} subscriber(s), impact >= "
                        f"{(dim.get('values') or ['?'])[0]}")
    receivers = [t for t in subject.of_type(TOPIC_SUBSCRIPTION) if t.inputs.get("topic") in topics]
    if topics and not receivers:
        problems.append("the alert topic has no subscription: nobody receives the alerts")
    elif receivers:
        evidence.append(f"alert topic: {len(receivers)} subscription(s) "
                        f"({', '.join(sorted(str(r.inputs.get('protocol')) for r in receivers))})")
    return judged(7, TITLE, problems, evidence, FIX)
