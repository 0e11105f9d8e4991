"""The one ASGI app: chat completions, models, health, metrics, OpenAPI (and later jobs)."""
