"""skyrelay.policies: the CrossGuard policy pack, as importable rules.

`registry.all_policies()` lists every rule; `policies/__main__.py` is the only place that builds the
`PolicyPack` (constructing one starts a gRPC server and blocks). Rules judge resource type tokens
and wire (camelCase) properties, never our components, so they hold for any Pulumi program.
"""
