"""Required tags on every taggable resource, on all three clouds.

Which types take tags, and in which property, comes from `skyrelay.tags.taggable_property` (data
generated from the pinned provider SDKs). Accepted carriers:
- AWS: `tags`, `tagsAll`, or the provider's `defaultTags.tags` (the provider merges those into tagsAll);
- Azure: `tags`;
- GCP: `labels`, `pulumiLabels`, `effectiveLabels`, or the provider's `defaultLabels`.
"""

from pulumi_policy import ResourceValidationArgs, Severity

from skyrelay.policies import config
from skyrelay.policies.props import as_map, get
from skyrelay.policies.rule import Rule, resource_policy
from skyrelay.tags import taggable_property

RULE = Rule(
    id="tags-required",
    description="Every taggable resource carries the required cost-allocation tags (GCP: labels).",
    severity=Severity.MEDIUM,
    remediation=(
        "Set the missing keys in the resource's `tags` (GCP `labels`), or set them once on the provider "
        "(`default_tags` on AWS, `default_labels` on GCP). skyrelay stacks apply them with "
        "`apply_tagging_policy`; values must be valid GCP labels."
    ),
    config=("requiredKeys",),
)

_EXTRA = {
    "aws": ("tagsAll",),
    "azure-native": (),
    "gcp": ("pulumiLabels", "effectiveLabels"),
}
_PROVIDER = {"aws": "defaultTags.tags", "gcp": "defaultLabels"}


def carried_keys(args: ResourceValidationArgs, prop: str) -> set[str]:
    cloud = args.resource_type.split(":", 1)[0]
    keys = set(as_map(get(args.props, prop)))
    for extra in _EXTRA.get(cloud, ()):
        keys |= set(as_map(get(args.props, extra)))
    if args.provider is not None and cloud in _PROVIDER:
        keys |= set(as_map(get(args.provider.props, _PROVIDER[cloud])))
    return keys


def check(args: ResourceValidationArgs):
    prop = taggable_property(args.resource_type)
    missing = [k for k in config.value(args.get_config(), "requiredKeys") if k not in carried_keys(args, prop)]
    if missing:
        yield f"`{prop}` lacks {', '.join(missing)}"


def _applies(type_token: str) -> bool:
    return taggable_property(type_token) is not None


POLICIES = [resource_policy(RULE, check, applies=_applies)]
