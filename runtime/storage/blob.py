"""Object storage on Azure Blob Storage (azure-storage-blob): a container, with the Function's managed
identity (the user-assigned one when `client_id` names it, else DefaultAzureCredential) or, against
Azurite in tests, a connection string."""

import contextlib

from skyrelay.runtime.storage.base import ThreadedStorage


class BlobStorage(ThreadedStorage):
    def __init__(self, container: str, prefix: str = "", account_url: str | None = None,
                 connection_string: str | None = None, credential=None, client_id: str | None = None):
        self.container_name, self.prefix = container, prefix
        self._account_url, self._conn, self._credential = account_url, connection_string, credential
        self._client_id = client_id
        self._container = None

    @property
    def container(self):
        if self._container is None:
            from azure.storage.blob import BlobServiceClient

            if self._conn:
                service = BlobServiceClient.from_connection_string(self._conn)
            else:
                credential = self._credential
                if credential is None and self._client_id:
                    from azure.identity import ManagedIdentityCredential

                    credential = ManagedIdentityCredential(client_id=self._client_id)
                elif credential is None:
                    from azure.identity import DefaultAzureCredential

                    credential = DefaultAzureCredential()
                service = BlobServiceClient(self._account_url, credential=credential)
            self._container = service.get_container_client(self.container_name)
        return self._container

    def _settings(self, content_type: str):
        from azure.storage.blob import ContentSettings

        return ContentSettings(content_type=content_type)

    def _put(self, full: str, data: bytes, content_type: str) -> None:
        self.container.upload_blob(full, data, overwrite=True, content_settings=self._settings(content_type))

    def _put_file(self, full: str, src: str, content_type: str) -> None:
        with open(src, "rb") as f:  # the SDK uploads in blocks; the file is never read whole
            self.container.upload_blob(full, f, overwrite=True, content_settings=self._settings(content_type))

    def _get(self, full: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.container.download_blob(full).readall()
        except ResourceNotFoundError:
            return None

    def _get_file(self, full: str, dest: str) -> bool:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            stream = self.container.download_blob(full)
        except ResourceNotFoundError:
            return False
        with open(dest, "wb") as out:
            stream.readinto(out)
        return True

    def _list(self, full_prefix: str) -> list[str]:
        return [b.name for b in self.container.list_blobs(name_starts_with=full_prefix + "/" if full_prefix else None)]

    def _delete(self, full: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            self.container.delete_blob(full)

    def uri(self, key: str) -> str:
        return f"{self.container.url.rstrip('/')}/{self._key(key)}"

    async def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()


def from_options(options: dict) -> BlobStorage:
    """`container` (required), `account_url` (managed identity: `client_id` names a user-assigned one) or
    `connection_string` (Azurite), `prefix`."""
    if not options.get("container"):
        raise ValueError("jobs.batch.storage.options.container: required for the blob backend")
    if not (options.get("account_url") or options.get("connection_string")):
        raise ValueError("jobs.batch.storage.options.account_url: required for the blob backend")
    return BlobStorage(options["container"], options.get("prefix", ""), options.get("account_url"),
                       options.get("connection_string"), client_id=options.get("client_id"))
