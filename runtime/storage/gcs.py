"""Object storage on Google Cloud Storage (google-cloud-storage), with Application Default Credentials,
or anonymous against gcp-storage-emulator in tests (`endpoint`)."""

import contextlib

from skyrelay.runtime.storage.base import ThreadedStorage


class GcsStorage(ThreadedStorage):
    def __init__(self, bucket: str, prefix: str = "", project: str | None = None, endpoint: str | None = None):
        self.bucket_name, self.prefix = bucket, prefix
        self._project, self._endpoint = project, endpoint
        self._bucket = None

    @property
    def bucket(self):
        if self._bucket is None:
            from google.cloud import storage

            if self._endpoint:
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(project=self._project or "local", credentials=AnonymousCredentials(),
                                        client_options={"api_endpoint": self._endpoint})
            else:
                client = storage.Client(project=self._project)
            self._bucket = client.bucket(self.bucket_name)
        return self._bucket

    def _put(self, full: str, data: bytes, content_type: str) -> None:
        self.bucket.blob(full).upload_from_string(data, content_type=content_type)

    def _put_file(self, full: str, src: str, content_type: str) -> None:
        self.bucket.blob(full).upload_from_filename(src, content_type=content_type)

    def _get(self, full: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            return self.bucket.blob(full).download_as_bytes()
        except NotFound:
            return None

    def _get_file(self, full: str, dest: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.bucket.blob(full).download_to_filename(dest)
        except NotFound:
            return False
        return True

    def _list(self, full_prefix: str) -> list[str]:
        return [b.name for b in self.bucket.client.list_blobs(self.bucket_name,
                                                              prefix=full_prefix + "/" if full_prefix else None)]

    def _delete(self, full: str) -> None:
        from google.api_core.exceptions import NotFound

        with contextlib.suppress(NotFound):
            self.bucket.blob(full).delete()

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self._key(key)}"


def from_options(options: dict) -> GcsStorage:
    """`bucket` (required), `prefix`, `project`, `endpoint` (an emulator)."""
    if not options.get("bucket"):
        raise ValueError("jobs.batch.storage.options.bucket: required for the gcs backend")
    return GcsStorage(options["bucket"], options.get("prefix", ""), options.get("project"), options.get("endpoint"))
