"""The stdlib Cosmos DB REST client (runtime/clouds/azure/cosmos.py) pinned to azure-cosmos on the
cosmosdb-server peer: documents one writes read back identically through the other, an ETag one
hands out is the other's If-Match (412 on both sides once it moved on), duplicates are 409 on both,
and a query over the partition key ranges answers what the SDK's cross-partition query answers.
The managed identity request is pinned to azure-identity's on a loopback identity endpoint."""

import contextlib
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from skyrelay.runtime.clouds.azure import cosmos as cosmos_rest
from skyrelay.runtime.clouds.azure.cosmos import Container, account_scope
from skyrelay.runtime.clouds.azure.identity import AppServiceIdentity
from tests import peers
from tests.contracts.azure_adapters import DATABASE, fresh_container
from tests.token_server import TokenServer

SYSTEM = ("_rid", "_self", "_etag", "_attachments", "_ts")


@contextlib.asynccontextmanager
async def both():
    """(REST container, SDK container proxy) on one fresh container of the peer."""
    from azure.cosmos.aio import CosmosClient

    name = await fresh_container("pin")
    rest = Container(peers.cosmos(), DATABASE, name, emulator_key=peers.COSMOS_EMULATOR_KEY)
    async with CosmosClient(peers.cosmos(), credential=peers.COSMOS_EMULATOR_KEY, connection_verify=False) as client:
        try:
            yield rest, client.get_database_client(DATABASE).get_container_client(name)
        finally:
            await rest.close()


def doc(**extra) -> dict:
    return {"id": f"d-{uuid.uuid4().hex[:8]}", "type": "job", "tenant": "acme", "created_at": 1.5,
            "nested": {"list": [1, "two", None], "unicode": "héllo ✓"}, "ttl": 60, **extra}


@pytest.mark.anyio
async def test_what_rest_writes_the_sdk_reads_identically_and_the_other_way_round():
    async with both() as (rest, sdk):
        mine = doc()
        created = await rest.create(mine)
        read = await sdk.read_item(mine["id"], partition_key=mine["id"])
        assert {k: v for k, v in read.items() if k not in SYSTEM} == mine
        assert read["_etag"] == created["_etag"] and read == await rest.read(mine["id"])

        theirs = doc(status="RUNNING")
        written = await sdk.create_item(theirs)
        got = await rest.read(theirs["id"])
        assert got == await sdk.read_item(theirs["id"], partition_key=theirs["id"])
        assert {k: v for k, v in got.items() if k not in SYSTEM} == theirs and got["_etag"] == written["_etag"]
        assert await rest.read("absent") is None


@pytest.mark.anyio
async def test_an_etag_is_if_match_on_both_sides_and_a_moved_one_is_412_on_both():
    from azure.core import MatchConditions
    from azure.cosmos.exceptions import CosmosAccessConditionFailedError, CosmosResourceExistsError

    async with both() as (rest, sdk):
        d = doc()
        first = await rest.create(d)
        by_sdk = await sdk.replace_item(d["id"], {**d, "v": 2}, etag=first["_etag"],
                                        match_condition=MatchConditions.IfNotModified)
        assert await rest.replace(d["id"], {**d, "v": 3}, first["_etag"]) is None  # 412: the SDK wrote first
        by_rest = await rest.replace(d["id"], {**d, "v": 3}, by_sdk["_etag"])
        assert by_rest is not None and by_rest["v"] == 3 and by_rest["_etag"] != by_sdk["_etag"]
        with pytest.raises(CosmosAccessConditionFailedError):  # the SDK's 412 on the ETag REST replaced
            await sdk.replace_item(d["id"], {**d, "v": 4}, etag=by_sdk["_etag"],
                                   match_condition=MatchConditions.IfNotModified)
        assert (await sdk.read_item(d["id"], partition_key=d["id"]))["v"] == 3
        assert await rest.create(d) is None  # 409 on a duplicate id
        with pytest.raises(CosmosResourceExistsError):
            await sdk.create_item(d)
        assert await rest.replace("absent", doc(id="absent"), by_rest["_etag"]) is None  # 404
        assert await rest.delete(d["id"]) and not await rest.delete(d["id"])
        assert await rest.read(d["id"]) is None


@pytest.mark.anyio
async def test_a_ranged_query_answers_what_the_sdk_cross_partition_query_answers():
    async with both() as (rest, sdk):
        docs = [doc(created_at=float(i % 4), tenant="acme" if i % 3 else "other") for i in range(12)]
        for d in docs:
            await (rest.create(d) if len(d["id"]) % 2 else sdk.create_item(d))
        query = ("SELECT TOP @n * FROM c WHERE c.type = 'job' AND c.tenant = @t"
                 " ORDER BY c.created_at DESC, c.id DESC")
        params = {"@n": 5, "@t": "acme"}
        parameters = [{"name": k, "value": v} for k, v in params.items()]
        want = [d async for d in sdk.query_items(query, parameters=parameters)]
        from skyrelay.runtime.stores.cosmos import _Desc

        got = await rest.query(query, params, order=lambda d: (-d["created_at"], _Desc(d["id"])), limit=5)
        assert [d["id"] for d in got] == [d["id"] for d in want] and len(got) == 5
        assert got == want


TOKEN = {"access_token": "tok-123", "expires_on": "4102444800", "resource": "r", "token_type": "Bearer"}


def identity_endpoint() -> TokenServer:
    return TokenServer(lambda path, headers: (200, TOKEN))


def test_the_managed_identity_request_is_the_one_azure_identity_makes(monkeypatch):
    server = identity_endpoint()
    endpoint = f"http://{server.host}/msi/token"
    scope = account_scope("https://acct.documents.azure.com:443/")
    assert scope == "https://acct.documents.azure.com/.default"
    try:
        monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", "secret-h")
        from azure.identity import ManagedIdentityCredential

        theirs = ManagedIdentityCredential(client_id="cid-1").get_token(scope)
        mine = AppServiceIdentity(endpoint, "secret-h", "cid-1").get_token(scope)
    finally:
        server.close()
    assert mine.token == theirs.token == "tok-123" and mine.expires_on == theirs.expires_on == 4102444800
    (their_path, theirs_sent), (my_path, mine_sent) = server.seen[-2:]
    assert mine_sent["X-IDENTITY-HEADER"] == theirs_sent["X-IDENTITY-HEADER"] == "secret-h"
    assert urlsplit(my_path).path == urlsplit(their_path).path == "/msi/token"
    assert parse_qs(urlsplit(my_path).query) == parse_qs(urlsplit(their_path).query)
    assert parse_qs(urlsplit(my_path).query)["resource"] == ["https://acct.documents.azure.com"]


def test_the_authorization_headers_are_the_sdks():
    """The peer does not check signatures, so both headers are pinned to the SDK's own code: the
    master-key HMAC (azure.cosmos.auth, quoted as azure.cosmos._base.GetHeaders quotes it) and the
    Entra form (the SDK's bearer policy, unquoted)."""
    from types import SimpleNamespace
    from urllib.parse import quote

    from azure.cosmos import auth as sdk_auth
    from azure.cosmos.aio._auth_policy_async import AsyncCosmosBearerTokenCredentialPolicy

    from skyrelay.runtime.clouds.azure.cosmos import aad_auth, master_key_auth

    date = "Fri, 04 Dec 2026 04:30:00 GMT"
    connection = SimpleNamespace(master_key=peers.COSMOS_EMULATOR_KEY, resource_tokens=None)
    for verb, rtype, link in (("GET", "docs", "dbs/skyrelay/colls/jobs-1/docs/job_Ab1"),
                              ("POST", "docs", "dbs/skyrelay/colls/jobs-1"), ("PUT", "docs", "dbs/s/colls/c/docs/x"),
                              ("GET", "pkranges", "dbs/s/colls/c"), ("POST", "dbs", "")):
        theirs = sdk_auth._get_authorization_header(connection, verb, "/" + link, link, True, rtype,  # noqa: SLF001
                                                    {"x-ms-date": date})
        assert master_key_auth(peers.COSMOS_EMULATOR_KEY, verb, rtype, link, date) == quote(theirs, "-_.!~*'()")

    class Credential:
        async def get_token(self, *scopes, **kw):
            return SimpleNamespace(token="eyJ0.a-b_c", expires_on=4102444800)

    policy = AsyncCosmosBearerTokenCredentialPolicy(Credential(), "https://acct.documents.azure.com/.default")
    headers: dict = {}
    policy._update_headers(headers, "eyJ0.a-b_c")  # noqa: SLF001
    assert aad_auth("eyJ0.a-b_c") == {k.lower(): v for k, v in headers.items()}["authorization"]


@pytest.mark.anyio
async def test_without_a_key_the_container_signs_with_the_platform_identity_token_fetched_once(monkeypatch):
    """Production's path (no emulator key): the token comes from IDENTITY_ENDPOINT for the account's
    scope and the client id, once for many calls (the peer accepts any signature, so what is asserted
    is the identity traffic and that the calls go through)."""
    from skyrelay.runtime.clouds.azure import identity

    server = identity_endpoint()
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://{server.host}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "secret-h")
    monkeypatch.setattr(identity, "_caches", {})
    name = await fresh_container("aad")
    before = len(server.seen)
    rest = Container(peers.cosmos(), DATABASE, name, client_id="cid-9")
    rest.rest._pool._tls = cosmos_rest._unverified_tls  # noqa: SLF001 - the peer's self-signed certificate
    try:
        d = doc()
        assert (await rest.create(d))["id"] == d["id"] and (await rest.read(d["id"]))["id"] == d["id"]
    finally:
        await rest.close()
        server.close()
    seen = server.seen[before:]
    assert len(seen) == 1 and seen[0][1]["X-IDENTITY-HEADER"] == "secret-h"
    query = parse_qs(urlsplit(seen[0][0]).query)
    host = urlsplit(peers.cosmos()).hostname
    assert query["resource"] == [f"https://{host}"] and query["client_id"] == ["cid-9"]
