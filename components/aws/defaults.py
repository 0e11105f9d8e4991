"""Secure, production defaults for the AWS components (one table per component).

Each entry says why. Overriding an entry marked secure logs a warning naming it.
"""

from skyrelay.components.defaults import Default

COST_GUARD: dict[str, Default] = {
    "budget_time_unit": Default("MONTHLY", "budgets reset with the bill"),
    "forecast_notification": Default(True, "warn before the money is spent, not after"),
    "sns_kms_encryption": Default(
        True, "alert topic encrypted with a customer key that budgets and anomaly detection may use", secure=True
    ),
    "kms_key_rotation": Default(True, "yearly rotation of the alert topic key", secure=True),
    "kms_deletion_window_days": Default(30, "longest window to undo a key deletion", secure=True),
    "sns_tls_only": Default(True, "topic policy denies publishing without TLS", secure=True),
    "anomaly_frequency": Default("IMMEDIATE", "SNS subscribers must be IMMEDIATE; alerts arrive as found"),
    "activate_cost_allocation_tags": Default(
        True, "budgets and anomaly monitors can filter by the tags only once they are active"
    ),
}
