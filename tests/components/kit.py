"""Helpers the component tests share."""


def cost_guard_program(tmp_path, cloud: str, args: str):
    """A Pulumi program in `tmp_path` that builds one `CostGuard('g', args)` of `cloud`; returns its folder."""
    (tmp_path / "__main__.py").write_text(
        f"from skyrelay.components.{cloud} import CostGuard\nCostGuard('g', {args})\n"
    )
    return tmp_path
