"""skyrelay.provider: the Pulumi component provider that hosts skyrelay's components for every
Pulumi language (TypeScript, Go, C#, YAML, ...).

This folder is the plugin (`PulumiPlugin.yaml`, `__main__.py`): `pulumi package add <path to
this folder>` runs it, reads its schema and generates an SDK in the consumer's language. The schema
is inferred from the components' typed Args (see inference.py); Construct maps the engine's inputs
back to those Args (inputs.py) and runs the Python component itself (provider.py).

Nothing but tests and scripts imports this package; it imports only the components and the core.
"""
