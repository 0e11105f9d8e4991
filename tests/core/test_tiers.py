import pytest

from skyrelay.errors import ConfigError
from skyrelay.tiers import ModelClass, TierName, TierOverride, apply_overrides, default_tiers, parse_tiers


def test_seed_values_match_the_design_card():
    t = default_tiers()
    assert (t[TierName.FREE].rpm, t[TierName.FREE].tpm, t[TierName.FREE].max_concurrent_streams) == (10, 10_000, 1)
    assert t[TierName.FREE].model_classes == (ModelClass.SMALL,)
    assert (t[TierName.DEVELOPER].rpm, t[TierName.DEVELOPER].tpm, t[TierName.DEVELOPER].max_concurrent_streams) == (
        60,
        100_000,
        5,
    )
    assert set(t[TierName.DEVELOPER].model_classes) == {ModelClass.SMALL, ModelClass.MEDIUM}
    assert (t[TierName.PROFESSIONAL].rpm, t[TierName.PROFESSIONAL].tpm) == (300, 500_000)
    assert t[TierName.PROFESSIONAL].max_concurrent_streams == 20
    assert t[TierName.ENTERPRISE].custom and t[TierName.ENTERPRISE].max_concurrent_streams >= 100
    assert t[TierName.ENTERPRISE].allows("dedicated") and not t[TierName.PROFESSIONAL].allows("dedicated")


def test_caps_and_limits_grow_with_the_tier():
    ordered = list(default_tiers().values())
    for lower, higher in zip(ordered, ordered[1:], strict=False):
        assert higher.rpm > lower.rpm and higher.tpm > lower.tpm
        assert higher.max_tokens_cap >= lower.max_tokens_cap
        assert set(lower.model_classes) <= set(higher.model_classes)


def test_unknown_tier_in_table_names_it():
    raw = {"gold": {}} | {name.value: {} for name in TierName}
    with pytest.raises(ConfigError) as err:
        parse_tiers(raw)
    assert err.value.key == "gold"


def test_bad_number_names_tier_and_field():
    good = {"rpm": 1, "tpm": 1, "max_concurrent_streams": 1, "max_tokens_cap": 1, "model_classes": ["small"], "monthly_request_quota": 1}
    raw = {name.value: dict(good) for name in TierName}
    raw["developer"]["rpm"] = 0
    with pytest.raises(ConfigError) as err:
        parse_tiers(raw)
    assert err.value.key == "developer.rpm"


def test_override_changes_only_the_fields_it_sets():
    table = default_tiers()
    merged = apply_overrides(table, {TierName.ENTERPRISE: TierOverride(rpm=5000)})
    assert merged[TierName.ENTERPRISE].rpm == 5000
    assert merged[TierName.ENTERPRISE].tpm == table[TierName.ENTERPRISE].tpm
    assert table[TierName.ENTERPRISE].rpm != 5000  # the shared table is untouched


def test_a_preparsed_table_beside_the_yaml_is_read_instead(tmp_path, monkeypatch):
    """The Lambda zip ships data/tiers.json (packaging); the table read must be that file's."""
    import json

    import yaml

    from skyrelay import tiers

    raw = yaml.safe_load((tiers.DATA / "tiers.yaml").read_text())
    raw["free"]["rpm"] = 7
    monkeypatch.setattr(tiers, "PREPARSED", tmp_path / "tiers.json")
    tiers.PREPARSED.write_text(json.dumps(raw))
    tiers.default_tiers.cache_clear()
    try:
        assert tiers.default_tiers()[tiers.TierName.FREE].rpm == 7
        raw["free"]["rpm"] = "many"
        tiers.PREPARSED.write_text(json.dumps(raw))
        tiers.default_tiers.cache_clear()
        with pytest.raises(ConfigError, match="free.rpm") as info:
            tiers.default_tiers()
        assert "tiers.json" in str(info.value)
    finally:
        tiers.default_tiers.cache_clear()
