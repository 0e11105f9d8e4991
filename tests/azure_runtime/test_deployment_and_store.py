"""The Azure deployment contract (the lock/renewal rule, host.json, the app settings the runtime reads)
and the Cosmos store's idempotency-key takeover, on the cosmosdb-server peer."""

import json
import time
from pathlib import Path

import pytest

from skyrelay import deployment as contract
from tests.contracts.azure_adapters import cosmos_on, fresh_container
from tests.contracts.test_store_contract import make_job

HOST_JSON = Path(__file__).resolve().parents[2] / "runtime" / "platforms" / "azure_functions" / "host.json"


def test_lock_renewal_covers_the_worker_timeout_plus_one_lock():
    assert contract.servicebus_lock(60) == {"lock_duration_s": 60, "max_auto_lock_renewal_s": 120,
                                            "function_timeout_s": 120}
    long = contract.servicebus_lock(1800.5, lock_duration_s=300)
    assert long["max_auto_lock_renewal_s"] == 1801 + 300 and long["lock_duration_s"] == 300
    with pytest.raises(ValueError, match="lock_duration_s"):
        contract.servicebus_lock(60, lock_duration_s=301)  # Service Bus locks stop at 5 minutes
    with pytest.raises(ValueError, match="worker_timeout_s"):
        contract.servicebus_lock(0)


def test_checked_in_host_json_is_the_rule_with_the_runtime_defaults():
    from skyrelay.runtime.jobs.config import JobsConfig
    from skyrelay.runtime.router.config import Timeouts

    expected = contract.host_json(Timeouts().request_s, JobsConfig().worker.concurrency)
    assert json.loads(HOST_JSON.read_text()) == expected
    sb = expected["extensions"]["serviceBus"]
    assert sb["maxAutoLockRenewalDuration"] == "00:02:00" and sb["autoCompleteMessages"] is True
    assert contract.host_json(3600, 4)["extensions"]["serviceBus"]["maxAutoLockRenewalDuration"] == "01:01:00"


def test_the_azure_deployment_reads_the_app_settings():
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.azure_functions.runtime import AZURE
    from tests.routerkit import config_dict

    env = {contract.CONFIG_JSON: json.dumps(config_dict()), contract.COSMOS_ENDPOINT: "https://acct.documents.azure.com:443/",
           contract.COSMOS_DATABASE: "skyrelay", contract.COSMOS_CONTAINER: "jobs", contract.AZURE_CLIENT_ID: "cid",
           contract.SERVICEBUS_NAMESPACE: "ns.servicebus.windows.net", contract.MAX_RECEIVE_COUNT: "10",
           contract.queue_name("interactive"): "jobs-interactive", contract.queue_name("batch"): "jobs-batch"}
    config = bootstrap.router_config(env, deployment=AZURE)
    assert (config.limiter.backend, config.limiter.cosmos_container, config.limiter.client_id) == ("cosmos", "jobs", "cid")
    jobs = bootstrap.jobs_config(config, env, AZURE)
    assert jobs.store.backend == "cosmos" and jobs.store.options["endpoint"] == env[contract.COSMOS_ENDPOINT]
    assert jobs.queue.backend == "servicebus" and jobs.queue.options["interactive_queue"] == "jobs-interactive"
    assert jobs.queue.options["namespace"] == "ns.servicebus.windows.net" and jobs.queue.max_receives == 10
    assert jobs.worker.max_attempts == 10


@pytest.mark.anyio
async def test_a_dangling_key_is_taken_over_and_a_live_one_is_not():
    """A creator that died after writing the key (unconfirmed, naming a job that was never written):
    once the key is older than `takeover_s` the next create takes it over; while it is younger, the key
    still blocks. The key's age is written into it, so the verdict does not depend on the machine's speed."""
    container = await fresh_container()
    store = cosmos_on(container, takeover_s=60)
    store.create_wait_s = 0.5  # how long the blocked create waits before it gives up
    try:
        ghost = make_job(key="k")
        doc = store._key_doc(ghost, time.time(), confirmed=False)
        assert await store.container.create(doc) is not None  # step 1 only: the creator died here
        with pytest.raises(RuntimeError, match="kept conflicting"):
            await store.create(make_job(key="k"))  # the key is young: it may still be in flight
        held = await store.container.read(doc["id"])
        old = store._key_doc(ghost, time.time() - 61, confirmed=False)
        assert await store.container.replace(doc["id"], old, held["_etag"]) is not None  # now old
        job, created = await store.create(make_job(key="k"))
        assert created and job.id != ghost.id
        again, created = await store.create(make_job(key="k"))
        assert not created and again.id == job.id
        assert (await store.find_idempotent("acme", "k")).id == job.id
    finally:
        await store.close()
