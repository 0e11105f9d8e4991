"""The OpenAI Files API, for batch input: raw ASGI like the other routes.

    POST /v1/files                 multipart: purpose=batch, file=<JSONL>  -> 200 the file object
    GET  /v1/files/{file_id}       -> 200 the file object (404 for another tenant's file)
    GET  /v1/files/{file_id}/content -> 200 the bytes (batch input, or a batch's output / error file)

The upload streams through python-multipart into a local temporary file (never held whole), at most
`jobs.batch.max_file_bytes` (413 past it, before the rest is read); every line is checked (400/403/404
naming the line) before anything reaches object storage.
"""

import os
import tempfile

import orjson
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.routing import Route

from skyrelay.runtime.api.auth import tenant_of
from skyrelay.runtime.api.errors import send_error, send_json
from skyrelay.runtime.batch.service import file_object
from skyrelay.runtime.batch.wiring import batch_service_for
from skyrelay.runtime.errors import PayloadTooLarge, ValidationFailed

FIELD_MAX = 1024


class Upload:
    """The parts of one multipart upload: small fields in memory, the file part in a temporary file."""

    def __init__(self, boundary: bytes, limit: int):
        self.limit, self.size = limit, 0
        self.fields: dict[str, bytes] = {}
        self.filename: str | None = None
        fd, self.path = tempfile.mkstemp(prefix="skyrelay-upload-", suffix=".jsonl")
        self.file = os.fdopen(fd, "wb")
        self._name = self._field = self._value = None
        self._headers: dict[bytes, bytes] = {}
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._hfield, "on_header_value": self._hvalue,
            "on_header_end": self._hend, "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._end})

    def _begin(self):
        self._headers, self._field, self._value, self._name = {}, b"", b"", None

    def _hfield(self, data, start, end):
        self._field += data[start:end]

    def _hvalue(self, data, start, end):
        self._value += data[start:end]

    def _hend(self):
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_done(self):
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("latin-1")
        if b"filename" in options and self._name == "file":
            self.filename = options[b"filename"].decode("utf-8", "replace")
        self.fields.setdefault(self._name, b"")

    def _data(self, data, start, end):
        if self._name == "file" and self.filename is not None:
            self.size += end - start
            if self.size > self.limit:
                raise PayloadTooLarge(f"file: over the {self.limit} byte limit (jobs.batch.max_file_bytes)")
            self.file.write(data[start:end])
        else:
            value = self.fields.get(self._name, b"") + data[start:end]
            if len(value) > FIELD_MAX:
                raise ValidationFailed(f"{self._name}: longer than {FIELD_MAX} bytes")
            self.fields[self._name] = value

    def _end(self):
        self._name = None

    def close(self):
        self.file.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class FilesCollection:
    def __init__(self, ctx):
        self.ctx = ctx

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        upload = None
        try:
            h = dict(scope["headers"])
            tenant = tenant_of(self.ctx.keys, h)
            svc = batch_service_for(self.ctx)
            kind, options = parse_options_header(h.get(b"content-type", b""))
            if kind != b"multipart/form-data" or not options.get(b"boundary"):
                raise ValidationFailed("content-type: must be multipart/form-data (fields purpose and file)")
            limit = svc.cfg.batch.max_file_bytes
            declared = h.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
                raise PayloadTooLarge(f"file: over the {limit} byte limit (jobs.batch.max_file_bytes)")
            upload = Upload(options[b"boundary"], limit)
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ValidationFailed("client disconnected")
                upload.parser.write(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            upload.parser.finalize()
            upload.file.close()
            if upload.filename is None:
                raise ValidationFailed("file: required (a JSONL file part)")
            purpose = upload.fields.get("purpose", b"").decode("utf-8", "replace") or None
            record = await svc.upload_file(tenant, purpose, upload.filename, upload.path, upload.size)
        except Exception as exc:
            if type(exc).__name__ == "MultipartParseError":
                exc = ValidationFailed(f"body: malformed multipart ({exc})")
            state["status"] = await send_error(send, exc)
            return
        finally:
            if upload is not None:
                upload.close()
        state["status"] = 200
        await send_json(send, 200, orjson.dumps(file_object(record)))


class FileItem:
    def __init__(self, ctx, content: bool):
        self.ctx, self.content = ctx, content

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        path = None
        try:
            tenant = tenant_of(self.ctx.keys, dict(scope["headers"]))
            svc = batch_service_for(self.ctx)
            file_id = scope["path_params"]["file_id"]
            if not self.content:
                record = await svc.get_file(tenant.name, file_id)
            else:
                path = await svc.file_content(tenant.name, file_id)
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        state["status"] = 200
        if not self.content:
            return await send_json(send, 200, orjson.dumps(file_object(record)))
        try:
            size = os.path.getsize(path)
            await send({"type": "http.response.start", "status": 200,
                        # JSONL is text: Mangum passes it through API Gateway as is (an octet stream would
                        # go out base64-encoded without the API's binary media types)
                        "headers": [(b"content-type", b"application/jsonl"),
                                    (b"content-length", str(size).encode())]})
            with open(path, "rb") as f:
                while True:
                    block = f.read(1 << 20)
                    more = len(block) == 1 << 20
                    await send({"type": "http.response.body", "body": block, "more_body": more})
                    if not more:
                        break
        finally:
            os.unlink(path)


def routes(ctx) -> list[Route]:
    return [
        Route("/v1/files", FilesCollection(ctx), methods=["POST"]),
        Route("/v1/files/{file_id}", FileItem(ctx, False), methods=["GET"]),
        Route("/v1/files/{file_id}/content", FileItem(ctx, True), methods=["GET"]),
    ]
