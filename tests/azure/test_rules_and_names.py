"""Small rules with their own edge cases: Azure's global names (storage accounts, Key Vaults) fit
their limits for any component name; the lock policy reads both duration formats; the Flex sizing
rule stays within 40..1000; ISO durations for Service Bus."""

import re

import pytest

from skyrelay.components.azure.functions import maximum_instances
from skyrelay.components.azure.servicebus import iso_seconds
from skyrelay.policies.azure.servicebus_lock import seconds


@pytest.mark.parametrize("name", ["jobs", "a", "a-very-long-component-name-that-goes-on-and-on", "UPPER_case.9"])
def test_global_names_fit_azure_limits_and_differ_per_component(name):
    from skyrelay.components.azure.naming import compact, hyphenated

    account, vault = compact("st", name), hyphenated("kv", name)
    assert re.fullmatch(r"[a-z0-9]{3,24}", account)
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", vault) and "--" not in vault
    assert compact("st", name + "x") != account


def test_lock_policy_reads_iso_and_timespan_durations():
    assert seconds("PT1M") == 60 and seconds("PT2M30S") == 150 and seconds("P1D") == 86400
    assert seconds("00:03:00") == 180 and seconds("1.00:00:00") == 86400
    assert seconds("soon") is None and seconds("PT") is None


def test_service_bus_durations_and_flex_sizing():
    assert [iso_seconds(s) for s in (60, 150, 45, 300)] == ["PT1M", "PT2M30S", "PT45S", "PT5M"]
    assert maximum_instances(100, 16) == 40  # Flex's floor
    assert maximum_instances(16 * 100, 16) == 100
    assert maximum_instances(10**6, 16) == 1000  # Flex's ceiling
