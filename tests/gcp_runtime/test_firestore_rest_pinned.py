"""The runtime's Firestore REST adapter (runtime/clouds/gcp/firestore.py) held to google-cloud-firestore
on the emulator: what one writes the other reads back identically, and their conditional writes
(exists=false, update_time) conflict with each other's writes."""

import datetime as dt

import pytest
from google.api_core import exceptions

from skyrelay.runtime.clouds.gcp.firestore import CollectionClient, parse_time
from skyrelay.runtime.jobs.model import JobStatus
from skyrelay.runtime.router.limits.firestore import FirestoreLimiter, limit_id
from skyrelay.runtime.stores.firestore import idem_id, job_fields
from tests.contracts.gcp_adapters import PROJECT, firestore_on, fresh_collection, sdk_collection
from tests.contracts.test_store_contract import make_job

pytestmark = pytest.mark.anyio

WHEN = dt.datetime(2026, 12, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)
MIXED = {"s": "héllo ✓", "i": 42, "neg": -(2**62), "f": 0.1, "whole_float": 3.0, "t": True, "n": None,
         "b": b"\x00\xffbytes", "ts": WHEN, "m": {"inner": {"x": 1, "y": [1, "two", 3.5]}, "empty": {}},
         "a": [1, 2.5, "x", None, {"k": "v"}], "empty_list": [], "odd key-name": "v"}


async def test_what_the_store_writes_the_sdk_reads_identically():
    store = firestore_on(fresh_collection())
    try:
        job, created = await store.create(make_job(key="k1", metadata={"nested": [[1, 2], [3]]}))
        assert created
        assert await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1})
        async with sdk_collection(store.collection_name) as sdk:
            raw = (await sdk.document(job.id).get()).to_dict()
            key = (await sdk.document(idem_id(job.tenant, "k1")).get()).to_dict()
        assert raw == job_fields(await store.get(job.id))  # every field, with its type (bytes, timestamp, float)
        assert key["job_id"] == job.id and key["expires_s"] == job.expires_at
    finally:
        await store.close()


async def test_mixed_values_round_trip_both_ways():
    collection = fresh_collection()
    rest = CollectionClient(PROJECT, collection)
    try:
        assert await rest.create_doc("by-rest", MIXED) is not None
        async with sdk_collection(collection) as sdk:
            assert (await sdk.document("by-rest").get()).to_dict() == MIXED
            await sdk.document("by-sdk").create(MIXED)
            snap = await sdk.document("by-sdk").get()
        doc = await rest.get_doc("by-sdk")
        assert doc.fields == MIXED
        assert parse_time(doc.update_time) == snap.update_time  # one version, read by both
    finally:
        await rest.close()


async def test_a_job_the_sdk_wrote_is_read_by_the_store():
    store = firestore_on(fresh_collection())
    try:
        job = make_job()
        async with sdk_collection(store.collection_name) as sdk:
            await sdk.document(job.id).create(job_fields(job))
        assert await store.get(job.id) == job
        assert [j.id for j in (await store.list(job.tenant))[0]] == [job.id]  # the query reads it too
    finally:
        await store.close()


async def test_conditional_writes_conflict_across_the_two_clients():
    collection = fresh_collection()
    rest = CollectionClient(PROJECT, collection)
    try:
        async with sdk_collection(collection) as sdk:
            # exists=false both ways
            await sdk.document("a").create({"v": 1})
            assert await rest.create_doc("a", {"v": 2}) is None
            assert await rest.create_doc("b", {"v": 1}) is not None
            with pytest.raises(exceptions.Conflict):  # ALREADY_EXISTS
                await sdk.document("b").create({"v": 2})
            # update_time: REST's version is stale once the SDK wrote
            version = (await rest.get_doc("a")).update_time
            await sdk.document("a").update({"v": 3, "extra": "kept"})
            assert await rest.update_doc("a", {"v": 4}, version) is None
            fresh = (await rest.get_doc("a")).update_time
            assert await rest.update_doc("a", {"v": 5}, fresh) is not None
            after = (await sdk.document("a").get()).to_dict()
            assert after == {"v": 5, "extra": "kept"}  # the mask: unnamed fields stay, as SDK update does
            # and the SDK's version is stale once REST wrote
            snap = await sdk.document("b").get()
            assert await rest.update_doc("b", {"v": 6}, (await rest.get_doc("b")).update_time) is not None
            with pytest.raises(exceptions.FailedPrecondition):
                await sdk.document("b").update({"v": 7}, option=sdk._client.write_option(
                    last_update_time=snap.update_time))
            assert (await sdk.document("b").get()).to_dict() == {"v": 6}
    finally:
        await rest.close()


async def test_the_limiter_document_reads_back_through_the_sdk():
    collection = fresh_collection()
    limiter = FirestoreLimiter(PROJECT, collection)
    try:
        state = {"rpm": {"n": 3, "window": 1733288400.5}, "streams": {"req-1": 1733288460.25}, "log": [1733288400.5, 2]}
        assert await limiter._write("acme", state, None, 1733288400.0) is not None
        assert await limiter._write("acme", state, None, 1733288400.0) is None  # exists: the other instance won
        async with sdk_collection(collection) as sdk:
            raw = (await sdk.document(limit_id("acme")).get()).to_dict()
        assert raw["state"] == state and raw["type"] == "limit" and raw["tenant"] == "acme"
        assert (await limiter._read("acme"))[0] == state
    finally:
        await limiter.close()
