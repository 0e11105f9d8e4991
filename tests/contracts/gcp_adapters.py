"""The GCP entries of the contract suites (registered in tests/contracts/conftest.py): the Firestore
store on the gcloud Firestore emulator, and Cloud Tasks as the Cloud Run worker meets it (pushes from
the in-project Cloud Tasks peer, tests/wirepeers/cloudtasks.py, answered by a test endpoint)."""

import uuid

from tests import peers

PROJECT = "skyrelay-test"


def fresh_collection(prefix: str = "jobs") -> str:
    peers.firestore()
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def firestore_on(collection: str, **kw):
    from skyrelay.runtime.stores.firestore import FirestoreJobStore

    peers.firestore()
    return FirestoreJobStore(PROJECT, collection, **kw)


async def firestore_store(tmp_path):
    return firestore_on(fresh_collection())


def firestore_twin(store):
    return firestore_on(store.collection_name)
