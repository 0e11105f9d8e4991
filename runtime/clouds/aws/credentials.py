"""AWS credentials and region for the runtime's own AWS calls (the JSON client and Bedrock SigV4).

From the environment when it holds them (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN: always so on Lambda, for the execution role), with no botocore import, which
would cost a cold Lambda ~230 ms. Otherwise (a profile, container or instance role) botocore's
default chain, imported then; its refreshable credentials are frozen at each signature.
"""

import os

Credentials = tuple[str, str, str | None]  # key, secret, session token


def from_env(env=None) -> Credentials | None:
    env = env if env is not None else os.environ
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    return (key, secret, env.get("AWS_SESSION_TOKEN") or None) if key and secret else None


def region_from_env(env=None) -> str:
    env = env if env is not None else os.environ
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


def resolve():
    """The environment's credentials as a tuple, else botocore's (refreshable) credentials, else None.
    Blocking (botocore may call a metadata endpoint): call it in a worker thread."""
    found = from_env()
    if found is not None:
        return found
    from botocore.session import Session

    return Session().get_credentials()


def frozen(credentials) -> Credentials:
    """A (key, secret, token) tuple from a tuple or from botocore credentials (frozen now)."""
    if isinstance(credentials, tuple):
        return credentials
    f = credentials.get_frozen_credentials()
    return f.access_key, f.secret_key, f.token
