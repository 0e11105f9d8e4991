"""Service Bus: dead-lettering with a bounded delivery count, and no SAS keys (Entra ID only)."""

from pulumi_policy import Severity

from skyrelay.policies.checks import requires_true
from skyrelay.policies.props import get, number, truthy
from skyrelay.policies.rule import Rule, resource_policy

NAMESPACE = "azure-native:servicebus:Namespace"
QUEUE = "azure-native:servicebus:Queue"
SUBSCRIPTION = "azure-native:servicebus:Subscription"

DEAD_LETTERING = Rule(
    id="azure-servicebus-dead-lettering",
    description="Service Bus queues and subscriptions dead-letter expired messages and set maxDeliveryCount.",
    severity=Severity.HIGH,
    cloud="azure",
    remediation="Set `dead_lettering_on_message_expiration=True` and `max_delivery_count` (e.g. 5).",
)
LOCAL_AUTH = Rule(
    id="azure-servicebus-local-auth-disabled",
    description="Service Bus namespaces disable SAS (local) authentication.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_202",),
    cloud="azure",
    remediation="Set `disable_local_auth=True` and grant roles to managed identities instead.",
)


def check_dead_lettering(args):
    if not truthy(get(args.props, "deadLetteringOnMessageExpiration")):
        yield "deadLetteringOnMessageExpiration is not true"
    if (number(get(args.props, "maxDeliveryCount")) or 0) < 1:
        yield "maxDeliveryCount is not set"


check_local_auth = requires_true("disableLocalAuth")


POLICIES = [
    resource_policy(DEAD_LETTERING, check_dead_lettering, [QUEUE, SUBSCRIPTION]),
    resource_policy(LOCAL_AUTH, check_local_auth, [NAMESPACE]),
]
