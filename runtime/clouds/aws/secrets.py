"""Secrets Manager references in the environment, resolved once per process.

Components put a secret's ARN in `<value name>_ARN` (deployment.secret_ref); this reads each such
secret into `<value name>` in os.environ, so the value lives in this process only and never in the
function's configuration. A provider key that was not put yet is skipped: a missing key must not
take the API down (the router answers that provider's calls with an auth error instead).
"""

import os

from skyrelay import deployment as contract
from skyrelay.runtime.clouds.aws.errors import error_code


def load_secrets(env=None, client=None) -> dict[str, str]:
    env = os.environ if env is None else env
    wanted = {name[: -len(contract.SECRET_REF_SUFFIX)]: ref for name, ref in env.items()
              if contract.is_secret_ref(name) and ref}
    wanted = {k: v for k, v in wanted.items() if k not in os.environ}
    if not wanted:
        return {}
    if client is None:
        from skyrelay.runtime.clouds.aws.json_client import make_client

        client = make_client("secretsmanager", endpoint_url=env.get(contract.AWS_ENDPOINT_URL), env=env)
    loaded = {}
    for name, arn in wanted.items():
        try:
            loaded[name] = client.get_secret_value(SecretId=arn)["SecretString"]
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
    os.environ.update(loaded)
    return loaded
