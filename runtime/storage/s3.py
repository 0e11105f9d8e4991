"""Object storage on S3, through botocore (the Lambda runtime provides it; the batcher runs on a
schedule, not on a request path, so its import time does not matter here)."""

from skyrelay.runtime.storage.base import ThreadedStorage


class S3Storage(ThreadedStorage):
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None,
                 client=None, kms_key_id: str | None = None):
        self.bucket, self.prefix = bucket, prefix
        self.kms_key_id = kms_key_id
        self._client = client
        self._endpoint, self._region = endpoint_url, region

    @property
    def client(self):
        if self._client is None:
            import botocore.session
            from botocore.config import Config

            from skyrelay.runtime.clouds.aws.credentials import region_from_env

            self._client = botocore.session.get_session().create_client(
                "s3", endpoint_url=self._endpoint, region_name=self._region or region_from_env(),
                config=Config(retries={"mode": "standard", "max_attempts": 5}, s3={"addressing_style": "path"}))
        return self._client

    def _extra(self, content_type: str) -> dict:
        extra = {"ContentType": content_type}
        if self.kms_key_id:
            extra |= {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return extra

    def _put(self, full: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=full, Body=data, **self._extra(content_type))

    def _put_file(self, full: str, src: str, content_type: str) -> None:
        with open(src, "rb") as f:  # one PUT streams the file (5 GB limit; batch files are far smaller)
            self.client.put_object(Bucket=self.bucket, Key=full, Body=f, **self._extra(content_type))

    def _get(self, full: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=full)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def _get_file(self, full: str, dest: str) -> bool:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=full)["Body"]
        except self.client.exceptions.NoSuchKey:
            return False
        with open(dest, "wb") as out:
            for chunk in body.iter_chunks(1 << 20):
                out.write(chunk)
        return True

    def _list(self, full_prefix: str) -> list[str]:
        keys: list[str] = []
        kwargs = {"Bucket": self.bucket, "Prefix": full_prefix + "/" if full_prefix else ""}
        while True:
            out = self.client.list_objects_v2(**kwargs)
            keys += [o["Key"] for o in out.get("Contents", [])]
            if not out.get("IsTruncated"):
                return keys
            kwargs["ContinuationToken"] = out["NextContinuationToken"]

    def _delete(self, full: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=full)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def from_options(options: dict) -> S3Storage:
    """`bucket` (required; on Lambda from deployment.BATCH_BUCKET), `prefix`, `endpoint_url`, `region`, `kms_key_id`."""
    if not options.get("bucket"):
        raise ValueError("jobs.batch.storage.options.bucket: required for the s3 backend")
    return S3Storage(options["bucket"], options.get("prefix", ""), options.get("endpoint_url"), options.get("region"),
                     kms_key_id=options.get("kms_key_id"))
