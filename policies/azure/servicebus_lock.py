"""The Service Bus lock rule as a stack policy: a Function App that states its worker timeout
(SKYRELAY_WORKER_TIMEOUT_SECONDS) must have the host renew message locks for the whole run plus one
lock period of the stack's longest queue lock (`maxAutoLockRenewalDuration`), and a function timeout
no shorter; and no queue lock may exceed Service Bus's 5 minutes. Otherwise a long run is
redelivered while it still runs (azure-functions-host#1026). Host settings are read from the app's
`AzureFunctionsJobHost__*` settings (they override host.json)."""

import re

from pulumi_policy import Severity

from skyrelay.policies.props import as_list, get, number, of_type
from skyrelay.policies.rule import Rule, stack_policy

WEB_APP = "azure-native:web:WebApp"
QUEUE = "azure-native:servicebus:Queue"
WORKER_TIMEOUT = "SKYRELAY_WORKER_TIMEOUT_SECONDS"
RENEWAL = "AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration"
FUNCTION_TIMEOUT = "AzureFunctionsJobHost__functionTimeout"
DEFAULT_LOCK_S, MAX_LOCK_S, DEFAULT_RENEWAL_S = 60, 300, 300

LOCK_RENEWAL = Rule(
    id="azure-servicebus-lock-renewal",
    description="Function Apps renew Service Bus locks for their worker timeout plus one lock period; queue locks are at most 5 minutes.",
    severity=Severity.HIGH,
    kind="stack",
    cloud="azure",
    remediation="Derive lock, maxAutoLockRenewalDuration and functionTimeout from the worker timeout "
                "(skyrelay.deployment.servicebus_lock; skyrelay's AsyncJobs does).",
)

_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def seconds(value) -> float | None:
    """ISO 8601 (PT1M) or TimeSpan (00:03:00, 1.00:00:00) as seconds."""
    text = str(value or "").strip()
    m = _ISO.match(text)
    if m and text not in ("P", "PT"):
        d, h, mi, s = (float(x or 0) for x in m.groups())
        return d * 86400 + h * 3600 + mi * 60 + s
    parts = text.split(":")
    if len(parts) == 3:
        days, _, hours = parts[0].rpartition(".")
        try:
            return float(days or 0) * 86400 + float(hours) * 3600 + float(parts[1]) * 60 + float(parts[2])
        except ValueError:
            return None
    return None


def check_lock_renewal(args):
    queues = of_type(args.resources, QUEUE)
    locks = []
    for q in queues:
        lock = seconds(get(q.props, "lockDuration")) if get(q.props, "lockDuration") else DEFAULT_LOCK_S
        if lock is None or lock > MAX_LOCK_S:
            yield f"lockDuration {get(q.props, 'lockDuration')} is over Service Bus's 5 minutes", q.urn
            continue
        locks.append(lock)
    longest = max(locks, default=DEFAULT_LOCK_S)
    for app in of_type(args.resources, WEB_APP):
        # Only the three settings the rule needs are read: at preview others (an identity's client id)
        # are unknown, and reading one would stop the rule.
        settings = {str(get(s, "name")): get(s, "value") for s in as_list(get(app.props, "siteConfig.appSettings"))
                    if str(get(s, "name")) in (WORKER_TIMEOUT, RENEWAL, FUNCTION_TIMEOUT)}
        timeout = number(settings.get(WORKER_TIMEOUT))
        if timeout is None:
            continue
        needed = timeout + longest
        renewal = seconds(settings[RENEWAL]) if RENEWAL in settings else DEFAULT_RENEWAL_S
        if renewal is None or renewal < needed:
            yield (f"maxAutoLockRenewalDuration {settings.get(RENEWAL, '00:05:00 (host default)')} is shorter than the "
                   f"worker timeout {timeout:g} s plus the {longest:g} s lock ({needed:g} s)"), app.urn
        function_timeout = seconds(settings.get(FUNCTION_TIMEOUT)) if FUNCTION_TIMEOUT in settings else None
        if function_timeout is not None and function_timeout < needed:
            yield f"functionTimeout {settings[FUNCTION_TIMEOUT]} is shorter than the {needed:g} s a run may hold its lock", app.urn


POLICIES = [stack_policy(LOCK_RENEWAL, check_lock_renewal)]
