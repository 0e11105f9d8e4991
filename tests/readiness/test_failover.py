"""Point 5: statically, aws-dev (a second Bedrock region per model) passes, a model with only a
fallback response warns and a model with neither a second deployment nor a fallback fails; measured on the simulator
(`--failover`), the shipped local config's secondary takes over in < 1 s with 0 failed requests,
for a primary that errors and one that hangs."""

import copy

import yaml

from skyrelay.check import Status, p5_failover, subject_of
from tests.conftest import ROOT


def local_fast_only() -> dict:
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    raw["deployments"] = [d for d in raw["deployments"] if d["model"] == "fast"]
    raw["models"] = {"fast": raw["models"]["fast"]}
    return raw


def test_static_row_passes_on_aws_dev_warns_on_fallback_only_and_fails_without_either(aws_dev_plan):
    row = p5_failover.check(subject_of(aws_dev_plan))
    assert row.status is Status.passed, row.evidence
    assert row.evidence[0].startswith("model fast: fast-bedrock -> fast-bedrock-us-west-2; a hung primary costs at most")
    raw = copy.deepcopy(subject_of(aws_dev_plan).router_raw)
    for m in raw["models"].values():  # without the failover region
        m["deployments"] = m["deployments"][:1]
    row = p5_failover.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.warn
    assert any("model fast: no second deployment; a killed fast-bedrock fails requests" in e for e in row.evidence)
    del raw["models"]["fast"]["fallback"]
    row = p5_failover.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.failed
    assert "model fast: no second deployment and no fallback: nothing takes over" in row.evidence
    row = p5_failover.check(subject_of(aws_dev_plan, local_fast_only()))
    assert row.status is Status.passed
    assert row.evidence[0].startswith("model fast: fast-bedrock -> fast-openai; a hung primary costs at most 5 s")


def test_measured_takeover_under_a_second_with_no_failed_request(aws_dev_plan):
    row = p5_failover.check(subject_of(aws_dev_plan, local_fast_only()), measure=True)
    assert row.status is Status.passed, row.evidence
    runs = {r["kill"]: r for r in row.figures["runs"]}
    assert set(runs) == {"down", "hang"}
    for run in runs.values():
        assert run["primary"] == "fast-bedrock" and run["failed"] == 0 and run["requests"] > 0, run
        assert 0 < run["takeover_s"] < 1.0, run
        assert "fast-openai" in run["answered_by"]
    assert any("primary fast-bedrock hang: takeover 0." in e for e in row.evidence)


def test_measured_on_aws_dev_the_second_region_takes_over_under_a_second(aws_dev_plan):
    """aws-dev's own router config: both deployments of a model call the same upstream model, and on the
    simulator each is its own (localrun.sim_models), so killing the primary leaves the secondary up."""
    raw = copy.deepcopy(subject_of(aws_dev_plan).router_raw)
    raw["models"] = {"fast": raw["models"]["fast"]}
    raw["deployments"] = [d for d in raw["deployments"] if d["model"] == "fast"]
    row = p5_failover.check(subject_of(aws_dev_plan, raw), measure=True)
    assert row.status is Status.passed, row.evidence
    for run in row.figures["runs"]:
        assert run["failed"] == 0 and 0 < run["takeover_s"] < 1.0, run
        assert "fast-bedrock-us-west-2" in run["answered_by"], run
