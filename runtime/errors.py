"""Canonical errors: what went wrong upstream, and the stable codes the API answers with.

Providers raise `ProviderError` subclasses; the router decides what to do by class (retry, fail
over, fall back to a larger context window, or give up). The API maps every error to an HTTP
status and a stable `code` string that clients may rely on.
"""

from typing import Any


class SkyrelayError(Exception):
    """Base of every error that reaches an API client. `code` is stable; `message` is for humans."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details

    def to_body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


# ---- client errors (raised at the edge, before any upstream call) ----
class BadRequest(SkyrelayError):
    status, code = 400, "bad_request"


class InvalidJson(BadRequest):
    code = "invalid_json"


class ValidationFailed(BadRequest):
    code = "validation_error"


class UnsupportedParameter(BadRequest):
    """A request parameter the router does not honour: refused rather than silently ignored."""

    code = "unsupported_parameter"


class UnsupportedCapability(BadRequest):
    """No deployment of the model declares a capability the request needs (tools, json_schema, ...)."""

    code = "unsupported_capability"


class InvalidToolSchema(BadRequest):
    """A tool's definition is malformed, or its JSON Schema uses a keyword no deployment can carry."""

    code = "invalid_tool_schema"


class ToolCallNotFound(BadRequest):
    """A `tool` message answers a tool call id that no earlier assistant message made."""

    code = "tool_call_not_found"


class UnknownToolChoice(BadRequest):
    """`tool_choice` names a function that is not among `tools`."""

    code = "unknown_tool_choice"


class NestingTooDeep(BadRequest):
    """JSON nested deeper than the API accepts (the limit keeps every stored document encodable)."""

    code = "nesting_too_deep"


class Unauthorized(SkyrelayError):
    status, code = 401, "invalid_api_key"


class ModelNotAllowed(SkyrelayError):
    status, code = 403, "model_not_allowed"


class NotFound(SkyrelayError):
    status, code = 404, "not_found"


class UnknownModel(SkyrelayError):
    status, code = 404, "model_not_found"


class PayloadTooLarge(SkyrelayError):
    status, code = 413, "payload_too_large"


class MaxTokensOverCap(SkyrelayError):
    status, code = 400, "max_tokens_over_cap"


_UNSET: Any = object()  # retry_after not given: the class's default_retry_after applies


class RetryAfterError(SkyrelayError):
    """Base of the errors that say when a retry may succeed: `retry_after` seconds (None: no hint).
    A subclass sets `default_retry_after`, used when the raiser gives none."""

    default_retry_after: float | None = None

    def __init__(self, message: str = "", retry_after: float | None = _UNSET, **details):
        super().__init__(message, **details)
        self.retry_after = self.default_retry_after if retry_after is _UNSET else retry_after


class RateLimited(RetryAfterError):
    """The caller is over a tier limit. `retry_after` is seconds until a retry can succeed."""

    status, code = 429, "rate_limited"
    default_retry_after = 1.0


class Overloaded(RetryAfterError):
    """Back-pressure: the service (queue, all deployments) cannot take more right now."""

    status, code = 503, "overloaded"
    default_retry_after = 1.0


# ---- upstream (provider) errors: raised by provider adapters, judged by the router ----
class ProviderError(RetryAfterError):
    """Base for upstream failures. `retryable` says whether another attempt may succeed.

    `message` says what happened inside (a deployment name, an aiohttp exception's text, the provider's
    own words): it is logged, never answered. Clients get `public`, one fixed sentence per class."""

    status, code = 502, "upstream_error"
    retryable = True
    public = "the upstream provider failed"


class UpstreamRateLimited(ProviderError):
    status, code = 429, "upstream_rate_limited"
    public = "every deployment of this model is rate-limited by its provider; retry after Retry-After"


class UpstreamOverloaded(ProviderError):
    status, code = 503, "upstream_overloaded"
    public = "the upstream provider is overloaded"


class UpstreamTimeout(ProviderError):
    status, code = 504, "upstream_timeout"
    public = "the upstream provider did not answer in time"


class UpstreamServerError(ProviderError):
    status, code = 502, "upstream_server_error"
    public = "the upstream provider failed"


class UpstreamInvalidOutput(ProviderError):
    """The provider's answer is not the JSON that `response_format` asked for (or breaks its strict
    schema): a provider failure like a malformed body, so the router fails over before the first byte."""

    status, code = 502, "upstream_invalid_output"
    public = "the upstream provider's answer was not valid JSON for the requested response_format"


class ContextLengthExceeded(ProviderError):
    status, code = 400, "context_length_exceeded"
    retryable = False
    public = "the prompt plus max_tokens does not fit the context window of any deployment of this model"


class ContentFiltered(ProviderError):
    status, code = 400, "content_filtered"
    retryable = False
    public = "the provider's content filter blocked the prompt or the completion"


class UpstreamAuth(ProviderError):
    status, code = 502, "upstream_auth_failed"
    retryable = False
    public = "the router could not authenticate to the upstream provider"


class UpstreamBadRequest(ProviderError):
    status, code = 400, "upstream_bad_request"
    retryable = False
    public = "the upstream provider rejected the request"


def public_message(exc: SkyrelayError) -> str:
    """What a client is told: the fixed sentence of an upstream error, our own message for any other."""
    return exc.public if isinstance(exc, ProviderError) else exc.message
