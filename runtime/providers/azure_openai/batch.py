"""Azure OpenAI Batch: the records go up through `/openai/files` (purpose `batch`), the job is
`/openai/batches` with `completion_window: 24h`, and the results come back as output and error files.

Needs a GlobalBatch (or DataZoneBatch) deployment: `upstream_model` is that deployment's name, and
every line's `body.model` must be the same name. Jobs are not expired by Azure after 24 h, and a
cancelled job still returns the work it completed. Each deployment has an enqueued-token quota
across all its queued jobs (the batcher keeps under `batch.max_enqueued_tokens`).
`input_blob` (Blob input without the files API) is not used: it needs the resource's system
identity on the container and is only in some regions.
"""

import os

import orjson

from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.errors import UpstreamBadRequest
from skyrelay.runtime.providers import openai_wire
from skyrelay.runtime.providers.azure_openai.chat import DEFAULT_API_VERSION
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.batch import BatchSettings, LineResult, ProviderJob, error_of

STATES = {"validating": "running", "in_progress": "running", "finalizing": "running", "cancelling": "running",
          "completed": "completed", "failed": "failed", "expired": "expired", "cancelled": "cancelled"}
JSON = {"content-type": "application/json", "accept": "application/json"}


def _base(upstream: Upstream) -> str:
    if not upstream.endpoint:
        raise UpstreamBadRequest("azure_openai upstream needs an endpoint")
    return upstream.endpoint.rstrip("/") + "/openai"


def _version(upstream: Upstream) -> str:
    return f"api-version={upstream.api_version or DEFAULT_API_VERSION}"


class AzureBatch:
    kind = "azure_openai"
    input_mode = "files"
    output_suffix = ""

    def record(self, record_id: str, upstream: Upstream, request: ChatRequest, settings: dict) -> dict:
        body = orjson.loads(openai_wire.build_body(request, upstream.model, False))
        return {"custom_id": record_id, "method": "POST", "url": "/chat/completions", "body": body}

    def upload(self, upstream: Upstream, filename: str, content: bytes) -> HttpCall:
        """`POST /openai/files`: multipart with `purpose=batch` and the JSONL."""
        boundary = "skyrelay" + os.urandom(12).hex()
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: application/jsonl\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return HttpCall("POST", f"{_base(upstream)}/files?{_version(upstream)}",
                        {"content-type": f"multipart/form-data; boundary={boundary}", "accept": "application/json"}, body)

    def uploaded(self, body: bytes) -> str:
        return orjson.loads(body)["id"]

    def create(self, upstream: Upstream, s: BatchSettings) -> HttpCall:
        body = {"input_file_id": s.input, "endpoint": "/chat/completions", "completion_window": "24h",
                "metadata": {"skyrelay_group": s.name}}
        return HttpCall("POST", f"{_base(upstream)}/batches?{_version(upstream)}", dict(JSON), orjson.dumps(body))

    def created(self, body: bytes) -> str:
        return orjson.loads(body)["id"]

    def find(self, upstream: Upstream, name: str) -> HttpCall:
        """The recent batches, to find the one a submitter created before it died (by `metadata`)."""
        return HttpCall("GET", f"{_base(upstream)}/batches?{_version(upstream)}&limit=100", dict(JSON), b"")

    def found(self, body: bytes, name: str) -> str | None:
        for batch in orjson.loads(body).get("data") or ():
            if (batch.get("metadata") or {}).get("skyrelay_group") == name:
                return batch["id"]
        return None

    def status(self, upstream: Upstream, job_id: str) -> HttpCall:
        return HttpCall("GET", f"{_base(upstream)}/batches/{job_id}?{_version(upstream)}", dict(JSON), b"")

    def parse_status(self, body: bytes) -> ProviderJob:
        doc = orjson.loads(body)
        raw = doc.get("status", "")
        errors = (doc.get("errors") or {}).get("data") or []
        message = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
        return ProviderJob(STATES.get(raw, "running"), raw, message, doc.get("output_file_id"), doc.get("error_file_id"))

    def cancel(self, upstream: Upstream, job_id: str) -> HttpCall:
        return HttpCall("POST", f"{_base(upstream)}/batches/{job_id}/cancel?{_version(upstream)}", dict(JSON), b"")

    def content(self, upstream: Upstream, file_id: str) -> HttpCall:
        return HttpCall("GET", f"{_base(upstream)}/files/{file_id}/content?{_version(upstream)}",
                        {"accept": "application/jsonl"}, b"")

    def output_line(self, upstream: Upstream, line: bytes, settings: dict) -> LineResult:
        doc = orjson.loads(line)
        rid = doc.get("custom_id")
        if doc.get("error"):
            err = doc["error"]
            return LineResult(rid, error=error_of(str(err.get("code") or "upstream_error"), err.get("message", "")))
        response = doc.get("response") or {}
        status = int(response.get("status_code") or 0)
        body = orjson.dumps(response.get("body") or {})
        if status >= 300:
            exc = openai_wire.error_from(status, {}, body)
            return LineResult(rid, error=error_of(exc.code, exc.message))
        try:
            return LineResult(rid, openai_wire.parse_body(body, upstream.model))
        except Exception as exc:  # a malformed or content-filtered line fails alone
            return LineResult(rid, error=error_of(getattr(exc, "code", "upstream_error"), str(exc)))


TRANSLATOR = AzureBatch()
