import uuid

import pytest

from tests import peers


@pytest.fixture
def anyio_backend():
    return "asyncio"


def s3_storage() -> tuple[dict, dict]:
    """(storage config, simulator endpoints): a fresh bucket on the moto server."""
    import boto3

    url = peers.moto()
    bucket = "batch-" + uuid.uuid4().hex[:12]
    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=bucket)
    return {"backend": "s3", "options": {"bucket": bucket, "endpoint_url": url, "prefix": "skyrelay"}}, \
        {"s3_endpoint_url": url}


def blob_storage() -> tuple[dict, dict]:
    """A fresh container on Azurite (Azure OpenAI reads our JSONL through its files API, not the blob)."""
    from azure.storage.blob import BlobServiceClient

    conn = peers.azurite()
    container = "batch-" + uuid.uuid4().hex[:12]
    BlobServiceClient.from_connection_string(conn).create_container(container)
    return {"backend": "blob", "options": {"container": container, "connection_string": conn}}, {}


def gcs_storage() -> tuple[dict, dict]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    url = peers.gcs()
    bucket = "batch-" + uuid.uuid4().hex[:12]
    storage.Client(project="local", credentials=AnonymousCredentials(),
                   client_options={"api_endpoint": url}).create_bucket(bucket)
    return {"backend": "gcs", "options": {"bucket": bucket, "endpoint": url}}, {"gcs_endpoint": url}


STORAGES = {"bedrock": s3_storage, "azure_openai": blob_storage, "vertex": gcs_storage}
MODELS = {"bedrock": "m-bedrock", "azure_openai": "m-azure", "vertex": "m-vertex"}


@pytest.fixture
def batch_sim(sim):
    """The session simulator with its batch jobs reset too."""
    from tests.batch.kit import sim_batch

    sim_batch(sim.base_url, "POST", "/reset")
    return sim
