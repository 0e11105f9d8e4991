"""The worker's stdlib RS256 check (runtime/clouds/gcp/oidc.py) held to google-auth's `jwt.decode`:
the same tokens accepted (with the same claims) and refused, over one key published as a JWKS (what
the worker reads) and as PEM (what google-auth reads)."""

import json
import time

import google.auth.jwt
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from skyrelay.runtime.clouds.gcp import oidc
from tests import peers

AUD, SA, KID = "https://worker.example/tasks", "tasks@p.iam.gserviceaccount.com", "k1"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
JWKS = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": KID, "use": "sig"}]}


def token(key=KEY, headers=None, **claims) -> str:
    now = int(time.time())
    body = {"iss": "https://accounts.google.com", "aud": AUD, "email": SA, "email_verified": True,
            "iat": now, "exp": now + 3600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": KID} if headers is None else headers)


def tampered(tok: str) -> str:
    head, payload, sig = tok.split(".")
    claims = json.loads(oidc.b64url(payload))
    claims["email"] = "attacker@evil.example"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{head}.{forged}.{sig}"


def verdicts(tok: str):
    """(ours, google-auth's): the claims, or the refusal."""
    try:
        ours = oidc.decode(tok, oidc.rsa_keys(JWKS), AUD)
    except ValueError:
        ours = "refused"
    try:
        theirs = google.auth.jwt.decode(tok, certs={KID: PEM}, audience=AUD)
    except Exception:  # noqa: BLE001 - google-auth raises several types
        theirs = "refused"
    return ours, theirs


# Built when each test runs, not at collection: the suite takes minutes, and a token "issued in the
# future" at import time is already in the past by the time its test runs.
ACCEPTED = {
    "valid": lambda: token(),
    "no kid (every key tried)": lambda: token(headers={}),
    "another service account (a 403 later, not a signature matter)": lambda: token(email="other@p.iam.gserviceaccount.com"),
}
REFUSED = {
    "wrong audience": lambda: token(aud="https://other.example/tasks"),
    "expired": lambda: token(iat=int(time.time()) - 7200, exp=int(time.time()) - 10),
    "issued in the future": lambda: token(iat=int(time.time()) + 600),
    "no exp": lambda: token(exp=None),
    "no iat": lambda: token(iat=None),
    "signed by another key": lambda: token(key=OTHER),
    "payload changed after signing": lambda: tampered(token()),
    "unknown kid": lambda: token(headers={"kid": "nope"}),
    "HS256 with the public key as secret": lambda: jwt.encode({"aud": AUD, "iat": 1, "exp": 2**33}, "s" * 32,
                                                      algorithm="HS256", headers={"kid": KID}),
    "alg none": lambda: jwt.encode({"aud": AUD, "iat": 1, "exp": 2**33}, None, algorithm="none", headers={"kid": KID}),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_by_both_with_the_same_claims(case):
    ours, theirs = verdicts(ACCEPTED[case]())
    assert ours != "refused" and ours == theirs


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_by_both(case):
    assert verdicts(REFUSED[case]()) == ("refused", "refused")


@pytest.mark.anyio
async def test_the_verifier_refuses_401_and_403_over_the_peers_keys():
    tasks = peers.cloudtasks()
    check = oidc.PushVerifier(AUD, SA, tasks.certs_url)
    claims = await check.verify(f"Bearer {tasks.token(AUD, SA)}")
    assert claims["email"] == SA and claims["aud"] == AUD
    for authorization, status in ((f"Bearer {tasks.token(AUD, 'other@p.iam.gserviceaccount.com')}", 403),
                                  (f"Bearer {tasks.token('https://elsewhere/tasks', SA)}", 401),
                                  (f"Bearer {tasks.token(AUD, SA, exp_in_s=-60)}", 401),
                                  (f"Bearer {token()}", 401),  # our test key, not the peer's: unknown kid
                                  ("Basic abc", 401), (None, 401)):
        with pytest.raises(oidc.Refused) as refused:
            await check.verify(authorization)
        assert refused.value.status == status, authorization
