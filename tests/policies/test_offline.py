"""The offline evaluation: config handling as in `pulumi preview --policy-pack-config`, and parity
between the fast public-API engine and a replay through pulumi_policy's analyzer servicer."""

import json

import pytest

from skyrelay.errors import ConfigError
from skyrelay.plan.policy import mandatory, parse_policy_config
from tests.policies.conftest import urn_of

FIXTURES = ["aws_violating", "aws_compliant", "azure_violating", "gcp_violating", "third_party"]


def _key(violations):
    return [(v.policy, v.level, v.urn, v.message) for v in violations]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_public_api_engine_matches_the_analyzer_servicer(judge, fixture):
    _, direct = judge(fixture)
    _, replayed = judge(fixture, engine="analyzer")
    assert _key(direct) == _key(replayed)


def test_parity_holds_under_config(judge):
    config = parse_policy_config({
        "all": "advisory",
        "aws-sqs-dlq": {"enforcementLevel": "mandatory", "exemptions": ["bad-short-visibility$"]},
        "stack-tier-max-tokens-cap": {"maxTokensCaps": {"free": 200000}},
        "aws-dynamodb-ttl": "disabled",
    })  # fmt: skip
    _, direct = judge("aws_violating", config)
    _, replayed = judge("aws_violating", config, engine="analyzer")
    assert _key(direct) == _key(replayed)
    assert {v.policy for v in mandatory(direct)} == {"aws-sqs-dlq"}
    assert not any(v.policy in ("aws-dynamodb-ttl", "stack-tier-max-tokens-cap") for v in direct)


def test_exemptions_match_urns(judge):
    plan, base = judge("aws_violating")
    queue = urn_of(plan, "bad-queue")
    assert any(v.urn == queue and v.policy == "aws-sqs-encryption" for v in base)
    _, after = judge("aws_violating", parse_policy_config({"aws-sqs-encryption": {"exemptions": ["::bad-queue$"]}}))
    assert not any(v.policy == "aws-sqs-encryption" for v in after)
    assert any(v.urn == queue and v.policy == "aws-sqs-dlq" for v in after)  # other rules still judge it


def test_required_tag_keys_are_configurable(judge):
    plan, _ = judge("aws_compliant")
    config = parse_policy_config({"tags-required": {"requiredKeys": ["cost-center", "owner"]}})
    _, violations = judge("aws_compliant", config)
    flagged = {v.urn for v in violations if v.policy == "tags-required"}
    assert urn_of(plan, "ok-table") in flagged
    assert all("owner" in v.message for v in violations)


def test_tier_caps_follow_config(judge):
    plan, _ = judge("aws_compliant")
    lowered = parse_policy_config({"stack-tier-max-tokens-cap": {"maxTokensCaps": {"developer": 2048}}})
    _, violations = judge("aws_compliant", lowered)
    assert [(v.policy, v.urn) for v in violations] == [("stack-tier-max-tokens-cap", urn_of(plan, "ok-worker"))]
    assert "4096" in violations[0].message and "2048" in violations[0].message


def test_unknown_tier_is_reported(judge):
    plan, violations = judge("azure_violating")
    found = [v for v in violations if v.policy == "stack-tier-max-tokens-cap"]
    assert [v.urn for v in found] == [urn_of(plan, "bad-functions")]
    assert "platinum" in found[0].message


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"no-such-rule": "advisory"}, "no-such-rule"),
        ({"aws-sqs-dlq": "sometimes"}, "aws-sqs-dlq.enforcementLevel"),
        ({"aws-sqs-dlq": {"exemptions": ["("]}}, "aws-sqs-dlq.exemptions"),
        ({"aws-sqs-dlq": {"exemptions": "x"}}, "aws-sqs-dlq.exemptions"),
        ({"aws-sqs-dlq": {"requiredKeys": ["a"]}}, "aws-sqs-dlq.requiredKeys"),
        ({"all": {"exemptions": []}}, "all"),
        ([], "policy-config"),
    ],
)
def test_bad_policy_config_names_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        parse_policy_config(raw)
    assert key in str(err.value)


def test_stack_outputs_carry_tier_caps(judge):
    """A stack that exports its tier table is judged too (the root Stack resource's outputs)."""
    from skyrelay.plan.model import Plan
    from skyrelay.plan.policy import evaluate

    plan, _ = judge("aws_compliant")
    exported = Plan(plan.stack, plan.project, plan.resources, {"tiers": {"enterprise": {"max_tokens_cap": 65536}}})
    for engine in ("direct", "analyzer"):
        found = [v for v in evaluate(exported, engine=engine) if v.policy == "stack-tier-max-tokens-cap"]
        assert [v.urn.endswith("::pulumi:pulumi:Stack::skyrelay-dev") for v in found] == [True]


def test_secrets_reach_the_rules_unmasked(render_program, tmp_path):
    """The report masks secrets, but the rules judge real values, as CrossGuard does."""
    from skyrelay.plan.policy import evaluate

    (tmp_path / "__main__.py").write_text(
        "import pulumi, pulumi_aws as aws\n"
        "aws.lambda_.Function('fn', runtime='python3.12', handler='h', role='arn:aws:iam::1:role/r',\n"
        "    code=pulumi.AssetArchive({}), reserved_concurrent_executions=1, tracing_config={'mode': 'Active'},\n"
        "    environment={'variables': {'SESSION_TOKEN': pulumi.Output.secret('abc123abc123')}})\n"
    )
    plan = render_program(tmp_path, {})
    assert plan.one("aws:lambda/function:Function").inputs["environment"]["variables"]["SESSION_TOKEN"] == "[secret]"
    for engine in ("direct", "analyzer"):
        policies = {v.policy for v in evaluate(plan, engine=engine)}
        assert "aws-lambda-no-plaintext-secrets" in policies


def test_violations_json_shape(judge):
    _, violations = judge("third_party")
    doc = json.loads(json.dumps([v.to_json() for v in violations]))
    assert doc and {"policy", "level", "urn", "message"} <= set(doc[0])


def test_documented_config_example_is_valid():
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "policies.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, re.S)[1]
    config = parse_policy_config(json.loads(example))
    assert config.levels["all"].value == "mandatory"
    assert config.properties["tags-required"]["requiredKeys"][-1] == "owner"


def test_rule_table_in_docs_is_current():
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    gen_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_docs)
    path = ROOT / "docs" / "policies.md"
    assert gen_docs.render_policy_rules(path.read_text()) == path.read_text()
