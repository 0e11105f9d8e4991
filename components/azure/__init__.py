"""Azure components."""

from skyrelay.components.azure.cost_guard import CostGuard, CostGuardArgs

__all__ = ["CostGuard", "CostGuardArgs"]
