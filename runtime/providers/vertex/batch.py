"""Vertex AI batch prediction: `batchPredictionJobs` over JSONL in GCS, `{"request": {...}}` per line.

Correlation: Vertex documents no custom id for a line. Each request carries the batcher's record id in
its `labels` (`skyrelay_record`: GenerateContentRequest has a `labels` map), and the output row echoes
the request it answered, so the id is read back from `request.labels`. This is NOT verified against a
real Vertex job (the docs say neither way): if a real job drops the labels, the batcher fails those
lines with `batch_correlation_lost` rather than guess (docs/batch.md). The discount is 50% and does not
stack with implicit-cache discounts. Output: `<prefix>/prediction-model-<time>/predictions*.jsonl`.
"""

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult
from skyrelay.runtime.errors import UpstreamBadRequest
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.batch import BatchSettings, LineResult, ProviderJob, error_of
from skyrelay.runtime.providers.vertex.chat import build_body, candidate_text, finish_of, usage_of

LABEL = "skyrelay_record"
STATES = {"JOB_STATE_QUEUED": "running", "JOB_STATE_PENDING": "running", "JOB_STATE_RUNNING": "running",
          "JOB_STATE_CANCELLING": "running", "JOB_STATE_UPDATING": "running", "JOB_STATE_PAUSED": "running",
          "JOB_STATE_SUCCEEDED": "completed", "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
          "JOB_STATE_FAILED": "failed", "JOB_STATE_CANCELLED": "cancelled", "JOB_STATE_EXPIRED": "expired"}
JSON = {"content-type": "application/json", "accept": "application/json"}


def _base(upstream: Upstream) -> str:
    if not upstream.project or not upstream.location:
        raise UpstreamBadRequest("vertex upstream needs project and location")
    return (upstream.endpoint or f"https://{upstream.location}-aiplatform.googleapis.com").rstrip("/") + "/v1"


class VertexBatch:
    kind = "vertex"
    input_mode = "uri"
    output_suffix = ".jsonl"

    def record(self, record_id: str, upstream: Upstream, request: ChatRequest, settings: dict) -> dict:
        body = build_body(Upstream(upstream.provider, upstream.model, project=upstream.project,
                                   location=upstream.location), request)  # no cachedContent: batch does not stack it
        body["labels"] = {LABEL: record_id}
        return {"request": body}

    def create(self, upstream: Upstream, s: BatchSettings) -> HttpCall:
        body = {"displayName": s.name, "model": f"publishers/google/models/{upstream.model}",
                "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": [s.input]}},
                "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": s.output}}}
        url = f"{_base(upstream)}/projects/{upstream.project}/locations/{upstream.location}/batchPredictionJobs"
        return HttpCall("POST", url, dict(JSON), orjson.dumps(body))

    def created(self, body: bytes) -> str:
        return orjson.loads(body)["name"]

    def find(self, upstream: Upstream, name: str) -> HttpCall:
        """The jobs of this display name, to find the one a submitter created before it died."""
        from urllib.parse import quote

        url = (f"{_base(upstream)}/projects/{upstream.project}/locations/{upstream.location}/batchPredictionJobs"
               f"?filter={quote(f'display_name={chr(34)}{name}{chr(34)}')}")
        return HttpCall("GET", url, dict(JSON), b"")

    def found(self, body: bytes, name: str) -> str | None:
        for job in orjson.loads(body).get("batchPredictionJobs") or ():
            if job.get("displayName") == name:
                return job["name"]
        return None

    def status(self, upstream: Upstream, job_id: str) -> HttpCall:
        return HttpCall("GET", f"{_base(upstream)}/{job_id}", dict(JSON), b"")

    def parse_status(self, body: bytes) -> ProviderJob:
        doc = orjson.loads(body)
        raw = doc.get("state", "")
        message = (doc.get("error") or {}).get("message") or ""
        return ProviderJob(STATES.get(raw, "running"), raw, message,
                           extra={"output_directory": (doc.get("outputInfo") or {}).get("gcsOutputDirectory")})

    def cancel(self, upstream: Upstream, job_id: str) -> HttpCall:
        return HttpCall("POST", f"{_base(upstream)}/{job_id}:cancel", dict(JSON), b"")

    def output_line(self, upstream: Upstream, line: bytes, settings: dict) -> LineResult:
        doc = orjson.loads(line)
        rid = ((doc.get("request") or {}).get("labels") or {}).get(LABEL)
        if rid is None:
            return LineResult(None, error=error_of("batch_correlation_lost", "the output row carries no record label"))
        if doc.get("status"):
            return LineResult(rid, error=error_of("upstream_error", doc["status"]))
        response = doc.get("response") or {}
        candidates = response.get("candidates") or []
        if not candidates:
            return LineResult(rid, error=error_of("upstream_error", "no candidates in the batch response"))
        finish = finish_of(candidates[0].get("finishReason"))
        text = candidate_text(candidates[0])
        if finish == "content_filter" and not text:
            return LineResult(rid, error=error_of("content_filtered", "Vertex filtered the answer"))
        return LineResult(rid, ChatResult(text, usage_of(response.get("usageMetadata")), finish,
                                          response.get("modelVersion") or upstream.model))


TRANSLATOR = VertexBatch()
