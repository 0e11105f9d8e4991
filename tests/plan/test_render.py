"""The harness itself: state is reset between renders, secrets are masked, bad config registers nothing."""

import pytest

from skyrelay.errors import ConfigError
from skyrelay.plan import ProgramError


def test_renders_are_independent(render_stack):
    first = render_stack("aws-dev")
    second = render_stack("aws-dev")
    assert [r.urn for r in first.resources] == [r.urn for r in second.resources]
    assert len({r.urn for r in second.resources}) == len(second.resources)


def test_secrets_are_masked_in_inputs(tmp_path, render_program):
    (tmp_path / "__main__.py").write_text(
        "import pulumi, pulumi_aws as aws\n"
        "aws.secretsmanager.SecretVersion('v', secret_id='s', secret_string=pulumi.Output.secret('hunter2'))\n"
    )
    plan = render_program(tmp_path, {})
    assert plan.resources[0].inputs["secretString"] == "[secret]"


def test_bad_config_inside_the_program_registers_nothing(project_root, render_program):
    import pulumi.runtime.settings as settings

    raw = {"skyrelay:cloud": "aws", "skyrelay:tags": {"environment": "dev", "team": "ai"}, "skyrelay:budget": {"amount": 1}}
    with pytest.raises(ConfigError) as err:
        render_program(project_root / "stacks", raw)
    assert err.value.key == "skyrelay:tags.cost-center"
    assert settings.SETTINGS.monitor.planned == []


def test_program_failure_is_reported_with_its_message(tmp_path, render_program):
    (tmp_path / "__main__.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ProgramError, match="boom"):
        render_program(tmp_path, {})
