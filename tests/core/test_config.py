import pytest

from skyrelay.config import load_stack_config, parse_stack_config, read_stack_file
from skyrelay.errors import ConfigError

BASE = {
    "skyrelay:cloud": "aws",
    "skyrelay:tags": {"cost-center": "cc1", "environment": "dev", "team": "ai"},
    "skyrelay:budget": {"amount": 100},
}


def with_(**changes):
    raw = {**BASE}
    for key, value in changes.items():
        raw[f"skyrelay:{key}"] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (with_(tags={"environment": "dev", "team": "ai"}), "skyrelay:tags.cost-center"),
        (with_(tags={"cost-center": "CC 1", "environment": "dev", "team": "ai"}), "skyrelay:tags.cost-center"),
        (with_(budget={"amount": 0}), "skyrelay:budget.amount"),
        (with_(budget={"amount": -5}), "skyrelay:budget.amount"),
        (with_(budget={"amount": 5, "emails": ["not-an-email"]}), "skyrelay:budget.emails"),
        (with_(tiers=["free", "gold"]), "skyrelay:tiers[1]"),
        (with_(tierOverrides={"platinum": {"rpm": 1}}), "skyrelay:tierOverrides.platinum"),
        (with_(cloud="gcp"), "skyrelay:gcp"),
        (with_(bugdet={"amount": 1}), "skyrelay:bugdet"),
        (with_(aws={"region": "mars-1"}), "skyrelay:aws.region"),
    ],
)
def test_bad_config_names_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        parse_stack_config(raw, "Pulumi.x.yaml")
    assert err.value.key.startswith(key), err.value
    assert "Pulumi.x.yaml" in str(err.value)


def test_good_config_parses_with_defaults():
    config = parse_stack_config(with_(tierOverrides={"enterprise": {"rpm": 9000}}))
    assert config.budget.alert_thresholds == (50, 80, 100)
    assert config.tier_table()["enterprise"].rpm == 9000
    assert config.tags.as_dict() == {"cost-center": "cc1", "environment": "dev", "team": "ai"}


def test_malformed_stack_file_names_file_and_line(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  skyrelay:cloud: aws\n  skyrelay:tags: {cost-center: [\n")
    with pytest.raises(ConfigError) as err:
        read_stack_file(bad)
    assert str(bad) in str(err.value) and "line" in err.value.message


def test_missing_stack_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_stack_config(tmp_path / "Pulumi.none.yaml")


def test_shipped_stacks_are_valid(project_root):
    for path in sorted((project_root / "stacks").glob("Pulumi.*.yaml")):
        config = load_stack_config(path)
        assert path.name == f"Pulumi.{path.name.split('.')[1]}.yaml" and config.budget.amount > 0
