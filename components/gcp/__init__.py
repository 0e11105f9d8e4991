"""GCP components."""

from skyrelay.components.gcp.cost_guard import CostGuard, CostGuardArgs

__all__ = ["CostGuard", "CostGuardArgs"]
