"""Cloud Run: secrets are Secret Manager references (`value_source.secret_key_ref`), never plain
environment values, which anyone with run.services.get reads in the service spec."""

import re

from pulumi_policy import Severity

from skyrelay.policies.props import as_list, get
from skyrelay.policies.rule import Rule, resource_policy

SERVICE_V2 = "gcp:cloudrunv2/service:Service"
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_KEY|CREDENTIALS?)$", re.I)
# Values that are keys whatever their name: a Google API key, an OpenAI-style key, a webhook secret.
SECRET_VALUE = re.compile(r"^(AIza[0-9A-Za-z_-]{30,}|sk-[A-Za-z0-9_-]{20,}|whsec_[A-Za-z0-9+/=]{16,})$")

NO_PLAIN_SECRETS = Rule(
    id="gcp-cloudrun-no-plaintext-secrets",
    description="Cloud Run services take secrets as Secret Manager references, never as plain env values.",
    severity=Severity.CRITICAL,
    cloud="gcp",
    remediation=(
        "Create the secret in Secret Manager, grant roles/secretmanager.secretAccessor on it to the service's "
        "account, and set the variable with `value_source={secret_key_ref: {secret, version}}`."
    ),
)


def plain_secret_envs(containers) -> list[str]:
    found = []
    for container in as_list(containers):
        for env in as_list(get(container, "envs")):
            name, value = get(env, "name", ""), get(env, "value")
            if not isinstance(value, str) or not value:
                continue
            if SECRET_NAME.search(name) or SECRET_VALUE.match(value):
                found.append(name)
    return found


def check(args):
    names = plain_secret_envs(get(args.props, "template.containers"))
    if names:
        yield f"plain env values that look like secrets: {', '.join(sorted(names))}"


POLICIES = [resource_policy(NO_PLAIN_SECRETS, check, [SERVICE_V2])]
