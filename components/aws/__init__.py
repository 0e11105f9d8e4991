"""AWS components."""

from skyrelay.components.aws.cost_guard import CostGuard, CostGuardArgs

__all__ = ["CostGuard", "CostGuardArgs"]
