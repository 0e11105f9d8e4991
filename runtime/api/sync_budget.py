"""Refuses a synchronous chat request that cannot finish before the gateway cuts it off.

API Gateway ends every synchronous request at 29 s (Azure and GCP gateways at 30 s), streamed or
not: the REST API's Lambda proxy buffers the whole answer. A request whose `max_tokens` cannot be
generated in time would run into a 504 after the tokens were paid for. With `api.sync_deadline_s`
set (the AWS blueprint sets it), the API judges each chat request before routing it: the
`max_tokens` it asked for (or `api.default_max_tokens` when it gave none), divided by the slowest
configured `output_tokens_per_s` among the model's deployments. Over the deadline, it answers
400 `use_async_jobs` pointing at POST /v1/jobs, which runs the same request without that limit.

Refused, not silently turned into a job: the client asked for a synchronous answer and its code
reads a chat completion, not a job id. Deployments without `output_tokens_per_s` are not judged.
"""

from skyrelay.runtime.errors import BadRequest


class UseAsyncJobs(BadRequest):
    code = "use_async_jobs"


class SyncBudget:
    """The per-model slowest output speed and the deadline, computed once from the config."""

    __slots__ = ("deadline_s", "default_max_tokens", "tps")

    def __init__(self, config):
        self.deadline_s = config.api.sync_deadline_s
        self.default_max_tokens = config.api.default_max_tokens
        self.tps: dict[str, float] = {}
        for d in config.deployments:
            if d.output_tokens_per_s is not None:
                self.tps[d.model] = min(self.tps.get(d.model, d.output_tokens_per_s), d.output_tokens_per_s)

    def fits(self, model: str, max_tokens: int | None) -> int | None:
        """The most tokens `model` can produce within the deadline, or None when not judged."""
        tps = self.tps.get(model)
        if self.deadline_s is None or tps is None:
            return None
        return int(tps * self.deadline_s)

    def admit(self, request) -> None:
        tokens = request.max_tokens or self.default_max_tokens
        most = self.fits(request.model, tokens)
        if most is None or tokens is None or tokens <= most:
            return
        asked = "max_tokens" if request.max_tokens else "the default max_tokens"
        raise UseAsyncJobs(
            f"{asked} {tokens} cannot finish within the gateway's {self.deadline_s:g} s synchronous limit at "
            f"{self.tps[request.model]:g} tokens/s (at most {most}); send it to POST /v1/jobs, or lower max_tokens"
        )
