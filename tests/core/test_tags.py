import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skyrelay.tags import TagSet, check_label_key, check_label_value, taggable_property

# The clouds' own rules: GCP labels, Azure tags (no <>%&\?/ and <= 256), AWS tags (<= 256).
GCP_VALUE = re.compile(r"^[\w-]{0,63}$")
AZURE_FORBIDDEN = set('<>%&\\?/')


@given(st.text(min_size=1, max_size=80))
def test_an_accepted_value_is_valid_on_every_cloud(value):
    try:
        check_label_value(value)
    except ValueError:
        return
    assert GCP_VALUE.match(value) and value == value.lower()
    assert not (set(value) & AZURE_FORBIDDEN) and len(value) <= 256


@pytest.mark.parametrize("value", ["CC-1", "cc 1", "x" * 64, "", "cc/1", "ü"])
def test_values_some_cloud_rejects_are_refused(value):
    with pytest.raises(ValueError):
        check_label_value(value)


@pytest.mark.parametrize("key", ["1team", "Team", "a" * 64, "with space"])
def test_bad_extra_keys_are_refused(key):
    with pytest.raises(ValueError):
        check_label_key(key)


def test_tagset_keeps_required_keys_first_and_rejects_shadowing():
    tags = TagSet.model_validate({"cost-center": "cc1", "environment": "dev", "team": "ai", "extra": {"owner": "me"}})
    assert list(tags.as_dict()) == ["cost-center", "environment", "team", "owner"]
    with pytest.raises(ValueError):
        TagSet.model_validate({"cost-center": "cc1", "environment": "dev", "team": "ai", "extra": {"team": "x"}})


def test_taggable_property_per_provider():
    assert taggable_property("aws:sqs/queue:Queue") == "tags"
    assert taggable_property("azure-native:resources:ResourceGroup") == "tags"
    assert taggable_property("gcp:cloudrunv2/service:Service") == "labels"  # never GCP `tags`
    assert taggable_property("aws:sns/topicPolicy:TopicPolicy") is None
    assert taggable_property("pulumi:providers:aws") is None
