"""The router: strategies, circuit breakers, retries, limits, cache and cost over provider adapters."""
