"""skyrelay.components: Pulumi ComponentResources, one folder per cloud.

Never imports skyrelay.runtime (the runtime is packaged as an artifact, by path). Per-cloud folders
never import each other; what they share lives here, one level up.
"""
