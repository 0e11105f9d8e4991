"""skyrelay.runtime: the router and async job runtime that the stacks deploy.

Never imports pulumi (a Lambda zip must not carry the IaC stack); cloud SDKs load lazily inside
the adapter that needs them.
"""
