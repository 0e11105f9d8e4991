"""From a provider-facing URI (`s3://`, `gs://`, `file://`) back to an ObjectStorage and a key: what the
simulator does to read a batch input and write its output, given the peers' endpoints."""

from urllib.parse import unquote, urlsplit

from skyrelay.runtime.storage import make_storage


def open_uri(uri: str, endpoints: dict | None = None):
    """-> (storage, key). `endpoints`: {"s3_endpoint_url", "gcs_endpoint"} for emulators."""
    endpoints = endpoints or {}
    parts = urlsplit(uri)
    if parts.scheme == "file":
        from pathlib import Path

        path = Path(unquote(parts.path))
        return make_storage("local", {"root": str(path.parent)}), path.name
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if parts.scheme == "s3":
        return make_storage("s3", {"bucket": bucket, "endpoint_url": endpoints.get("s3_endpoint_url")}), key
    if parts.scheme == "gs":
        return make_storage("gcs", {"bucket": bucket, "endpoint": endpoints.get("gcs_endpoint")}), key
    raise ValueError(f"unsupported storage URI {uri!r}")
