"""Secure, production defaults for the GCP components (one table per component).

Each entry says why. Overriding an entry marked secure logs a warning naming it.
"""

from skyrelay.components.defaults import Default

# Cloud Billing publishes budget notifications as this service account.
BUDGET_PUBLISHER = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"

COST_GUARD: dict[str, Default] = {
    "budget_calendar_period": Default("MONTH", "budgets reset with the bill"),
    "forecast_notification": Default(True, "warn before the money is spent, not after"),
    "credit_types_treatment": Default("INCLUDE_ALL_CREDITS", "spend as billed, net of credits (the API's default)"),
    "disable_default_iam_recipients": Default(False, "billing admins get the budget emails as well"),
    "pubsub_schema_version": Default("1.0", "the only budget notification schema"),
    "topic_message_retention": Default("604800s", "a late subscriber can replay a week of budget messages"),
    "topic_pin_region": Default(True, "budget messages are stored only in the stack's region", secure=True),
    "enable_apis": Default(True, "Budgets, Pub/Sub and Monitoring APIs on, kept on when the stack is destroyed"),
    "spend_driver_alert": Default(
        True, "GCP has no anomaly resource: alert when the spend driver's request rate jumps over its baseline"
    ),
    "spend_driver_services": Default(
        ("aiplatform.googleapis.com",), "APIs whose consumer request rate drives the bill (Vertex AI)"
    ),
    "spend_driver_window": Default("1h", "rate window; smooths bursts shorter than this"),
    "spend_driver_baseline_offset": Default("1w", "compare with the same hour a week ago (weekly seasonality)"),
    "spend_driver_spike_factor": Default(3.0, "fire when the rate is this many times its baseline"),
    "spend_driver_min_rate": Default(0.05, "requests/s floor, so an idle project's first calls do not page"),
}
