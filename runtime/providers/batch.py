"""The contract of the providers' batch translators (`providers/<kind>/batch.py`): pure request and
response mapping for one provider's batch API, as the chat adapters are for its chat API.

The batcher (runtime/batch/) does the I/O: it signs each `HttpCall` with the provider's own signer
(SigV4, Entra, Google OAuth), sends it, and hands the answer back here. Every record the batcher
writes carries a `record_id` (the line's position in its group, as a string); a translator puts it
where its provider keeps it and finds it again in the output:
- Bedrock: `recordId`;
- Azure OpenAI: `custom_id`;
- Vertex: no custom id exists, so the id rides in the request's `labels` (`skyrelay_record`), which
  the output row echoes with the request. NOT verified against a real Vertex job (docs/batch.md).
"""

from dataclasses import dataclass, field
from typing import Literal, Protocol

from skyrelay.runtime.canonical import ChatRequest, ChatResult
from skyrelay.runtime.providers.base import HttpCall, Upstream

State = Literal["running", "completed", "failed", "expired", "cancelled"]
InputMode = Literal["uri", "files"]  # the provider reads our object storage / we upload through its files API


@dataclass(slots=True)
class ProviderJob:
    """What a status call says about one provider batch job."""

    state: State
    raw_state: str = ""
    message: str = ""
    output_file: str | None = None  # Azure: the output file id (and `error_file`)
    error_file: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class LineResult:
    record_id: str | None
    result: ChatResult | None = None
    error: dict | None = None  # {"code", "message"}


@dataclass(slots=True)
class BatchSettings:
    """What the batcher passes the translator when it creates a job (from the deployment's `batch:`)."""

    name: str  # the group id: the provider job's name, and the idempotency token where the API has one
    input: str  # a storage URI (uri mode) or an uploaded file id (files mode)
    output: str  # a storage URI prefix (uri mode); unused in files mode
    role_arn: str | None = None  # Bedrock: the service role that reads the input and writes the output
    timeout_hours: int = 24
    invocation: str = "auto"  # Bedrock: converse | invoke_model | auto


class BatchTranslator(Protocol):
    kind: str
    input_mode: InputMode
    output_suffix: str  # uri mode: the output objects to read under the output prefix

    def record(self, record_id: str, upstream: Upstream, request: ChatRequest, settings: dict) -> dict: ...
    def create(self, upstream: Upstream, s: BatchSettings) -> HttpCall: ...
    def created(self, body: bytes) -> str: ...
    def status(self, upstream: Upstream, job_id: str) -> HttpCall: ...
    def parse_status(self, body: bytes) -> ProviderJob: ...
    def cancel(self, upstream: Upstream, job_id: str) -> HttpCall: ...
    # Azure and Vertex (no idempotency token): finding the job a dead submitter created, by its name.
    # Bedrock has none: its `clientRequestToken` makes a second create return the first job.
    def output_line(self, upstream: Upstream, line: bytes, settings: dict) -> LineResult: ...


def translator_for(kind: str) -> BatchTranslator | None:
    """The batch translator of a provider kind, or None when the provider has no batch API here."""
    import importlib

    if kind not in ("bedrock", "azure_openai", "vertex"):
        return None
    return importlib.import_module(f"skyrelay.runtime.providers.{kind}.batch").TRANSLATOR


def error_of(code: str, message: str) -> dict:
    return {"code": code, "message": str(message)[:500]}
