"""Secure, production defaults for the Azure components (one table per component).

Each entry says why. Overriding an entry marked secure logs a warning naming it.
"""

from skyrelay.components.defaults import Default

# The built-in policy definition "Require a tag on resources" (Deny effect, Indexed mode).
REQUIRE_TAG_POLICY_ID = "/providers/Microsoft.Authorization/policyDefinitions/871b6d14-10aa-478d-b590-94f262ecfa99"

COST_GUARD: dict[str, Default] = {
    "budget_time_grain": Default("Monthly", "budgets reset with the bill"),
    "forecast_notification": Default(True, "warn before the money is spent, not after"),
    "anomaly_alert": Default(
        True, "daily Cost Management anomaly alert (InsightAlert) for the subscription; Azure's only anomaly signal"
    ),
    "anomaly_alert_years": Default(1, "lifetime of the anomaly alert schedule; the portal's default"),
    "require_tag_policies": Default(
        True, "one 'Require a tag on resources' assignment per required tag on the resource group", secure=True
    ),
    "policy_enforcement_mode": Default(
        "Default", "the tag policies deny untagged resources ('DoNotEnforce' only audits)", secure=True
    ),
}
