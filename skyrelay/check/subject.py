"""The thing checked: a rendered plan, and the router config and tier table it deploys.

Everything comes from the rendered resources, never from the stack file alone, so the check
judges what `pulumi up` would create, whichever program rendered it. On AWS the router config is
the file CONFIG_FILE names inside the functions' zip (or a CONFIG_JSON, for a program that sets one) and
the tier table is TIERS (the core table with the stack's overrides applied).
"""

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from skyrelay import deployment as contract
from skyrelay.errors import ConfigError
from skyrelay.plan.model import Plan, PlannedResource

FUNCTION = "aws:lambda/function:Function"
AZURE_FUNCTION_APP = "azure-native:web:WebApp"
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"


def _from_key_vault(subject: "Subject", reference: str) -> tuple[dict[str, Any] | None, str]:
    """Azure: CONFIG_JSON is a Key Vault reference; the rendered secret (the plan's own request, read
    in memory, never printed) holds the config the Function App resolves at start."""
    name = reference.rstrip(")").rstrip("/").rsplit("/secrets/", 1)[-1].split("/", 1)[0]
    source = f"Key Vault secret {name}"
    for secret in subject.of_type(KEY_VAULT_SECRET):
        if secret.inputs.get("secretName") != name or secret.request is None:
            continue
        from google.protobuf import json_format

        from skyrelay.plan import wire

        value = (_unmasked(json_format.MessageToDict(secret.request.object), wire).get("properties") or {}).get("value")
        with contextlib.suppress(TypeError, ValueError):
            return json.loads(value), source
    return None, source


def _unmasked(value: Any, wire) -> Any:
    if isinstance(value, dict):
        if value.get(wire.SIG) in (wire.SECRET, wire.OUTPUT_VALUE):
            return _unmasked(value.get("value"), wire)
        return {k: _unmasked(v, wire) for k, v in value.items()}
    if isinstance(value, list):
        return [_unmasked(v, wire) for v in value]
    return value


def _from_code(fn: PlannedResource, name: str) -> tuple[dict[str, Any] | None, str]:
    """The router config file `name` inside the function's code archive (the zip the plan names), as
    the runtime reads it at cold start; (None, ...) when the archive or the file is not there."""
    import zipfile

    path = (fn.inputs.get("code") or {}).get("path") if isinstance(fn.inputs.get("code"), dict) else None
    source = f"{fn.name} code:{name}"
    if not path:
        return None, source
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read(name).decode()
    except (OSError, KeyError, zipfile.BadZipFile):
        return None, source
    if name.endswith(".json"):
        return json.loads(text), source
    import yaml

    return yaml.safe_load(text), source


@dataclass
class Subject:
    plan: Plan
    cloud: str
    router_raw: dict[str, Any] | None = None
    router: Any = None  # RouterConfig, or None when the plan deploys none
    router_error: str | None = None
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    router_source: str = ""  # where the router config was read (a function's zip, a secret, the blueprint)

    def serving(self, model) -> list[str]:
        """A router model's deployments that take its on-demand traffic: a `dedicated` deployment (a
        provider batch deployment, or capacity pinned to some tenants) is no failover for the rest."""
        dedicated = {d.name for d in self.router.deployments if d.model_class.value == "dedicated"} if self.router else set()
        return [d for d in model.deployments if d not in dedicated]

    def of_type(self, token: str) -> list[PlannedResource]:
        return self.plan.of_type(token)

    def functions(self) -> list[PlannedResource]:
        return self.of_type(FUNCTION)

    def function_env(self, resource: PlannedResource) -> dict[str, Any]:
        return ((resource.inputs.get("environment") or {}).get("variables")) or {}

    def runtimes(self) -> list[tuple[PlannedResource, dict[str, Any]]]:
        """Every resource that runs the runtime, with the environment it gets: Lambda functions, the
        Azure Function App's app settings, the Cloud Run services' container variables."""
        out = [(fn, self.function_env(fn)) for fn in self.functions()]
        for app in self.of_type(AZURE_FUNCTION_APP):
            settings = ((app.inputs.get("siteConfig") or {}).get("appSettings")) or []
            out.append((app, {s.get("name"): s.get("value") for s in settings}))
        for svc in self.of_type(CLOUD_RUN):
            containers = ((svc.inputs.get("template") or {}).get("containers")) or []
            out.append((svc, {e.get("name"): e.get("value") for c in containers for e in c.get("envs") or []}))
        return out


def cloud_of(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for r in plan.resources:
        prefix = r.type.split(":", 1)[0]
        cloud = {"aws": "aws", "azure-native": "azure", "gcp": "gcp"}.get(prefix)
        if cloud:
            counts[cloud] = counts.get(cloud, 0) + 1
    return max(counts, key=counts.get) if counts else "none"


def subject_of(plan: Plan, router_raw: dict[str, Any] | None = None, source: str = "--router-config") -> Subject:
    """`router_raw` (a router config file given with --router-config) wins over the rendered one."""
    from skyrelay.runtime.config import parse_config  # the router's sections and `jobs:`

    subject = Subject(plan=plan, cloud=cloud_of(plan))
    for fn, env in subject.runtimes():
        if router_raw is None and str(env.get(contract.CONFIG_JSON, "")).startswith("@Microsoft.KeyVault("):
            router_raw, source = _from_key_vault(subject, env[contract.CONFIG_JSON])
        if router_raw is None and isinstance(env.get(contract.CONFIG_JSON), str):
            # "[secret]" or unknown at preview: another function's copy may be plain
            with contextlib.suppress(ValueError):
                router_raw, source = json.loads(env[contract.CONFIG_JSON]), f"{fn.name}.{contract.CONFIG_JSON}"
        if router_raw is None and isinstance(env.get(contract.CONFIG_FILE), str):
            router_raw, source = _from_code(fn, env[contract.CONFIG_FILE])
        if not subject.tiers and isinstance(env.get(contract.TIERS), str):
            with contextlib.suppress(ValueError):
                subject.tiers = contract.tiers_from_doc(env[contract.TIERS])
    subject.router_raw = router_raw
    subject.router_source = source if router_raw is not None else ""
    if router_raw is not None:
        try:
            subject.router = parse_config(router_raw, source)
        except ConfigError as exc:
            subject.router_error = str(exc)
    return subject
