"""Applies the tagging policy to every taggable resource in a stack, on all three clouds.

A legacy stack transformation (`register_stack_transformation`) is used on purpose: it runs in the
program itself, so it works under the offline plan's mocks exactly as in `pulumi up`, and the plan
shows the tags a real deployment gets. (The newer `register_resource_transform` runs in the engine,
which the mocks do not emulate.) Provider-level default_tags / default_labels are set as well by the
stack, as a second line of defence for resources created outside this transformation's reach.
"""

import pulumi

from skyrelay.tags import taggable_property


def merge_tags(existing, required: dict[str, str]):
    """Existing tags plus the required ones; the required values win, so no resource can mislabel
    its cost center. Works for plain dicts and for Outputs."""
    if existing is None:
        return dict(required)
    if isinstance(existing, dict) and not any(isinstance(v, pulumi.Output) for v in existing.values()):
        return {**existing, **required}
    return pulumi.Output.from_input(existing).apply(lambda tags: {**(tags or {}), **required})


def tagging_transformation(required: dict[str, str]):
    """A transformation that puts `required` on each resource whose type takes tags (labels on GCP)."""

    def transform(args: pulumi.ResourceTransformationArgs):
        prop = taggable_property(args.type_)
        if prop is None:
            return None
        props = dict(args.props)
        props[prop] = merge_tags(props.get(prop), required)
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform


def apply_tagging_policy(required: dict[str, str]) -> None:
    """Registers the tagging transformation for the rest of the program (call it first)."""
    pulumi.runtime.register_stack_transformation(tagging_transformation(required))
