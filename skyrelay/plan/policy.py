"""Offline policy evaluation: the CrossGuard pack judges a rendered plan, with no engine and no CLI.

Two engines run the same Policy objects with the same config:

- `direct` (the default, what `skyrelay plan` uses): pulumi_policy's public API. Each captured
  RegisterResource request is deserialised once, with pulumi_policy's own deserialiser and
  unknown-value proxy, into `ResourceValidationArgs` / `StackValidationArgs` (parents, dependencies
  and property dependencies as resource objects), and each policy's `validate(args, report)` runs.
  10,000 resources take well under a second (bench/policy_eval.py).
- `analyzer`: the captured requests are replayed through pulumi_policy's analyzer servicer
  (`_PolicyAnalyzerServicer.Configure/Analyze/AnalyzeStack`), the code that serves `pulumi preview
  --policy-pack`. It re-deserialises every resource once per policy, which is fine for a stack and
  too slow for 10,000 resources; tests/policies/test_offline.py asserts both engines report the same
  violations, so the real CrossGuard code path vouches for the fast one. The servicer is private:
  pulumi-policy is pinned (1.21.0) and that test fails if its shape changes.
"""

import asyncio
from inspect import isawaitable
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import (
    ResourceValidationPolicy,
    StackValidationPolicy,
    _NotApplicableError,
    _PolicyAnalyzerServicer,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from skyrelay.plan.model import Plan, PlannedResource
from skyrelay.plan.policy_config import LEVELS, PolicyConfig, load_policy_config, parse_policy_config
from skyrelay.plan.policy_wire import (
    analyzer_options,
    analyzer_provider,
    jsonable,
    plain_properties,
    policy_options,
    provider_urns,
    stack_identity,
    wire_object,
)
from skyrelay.plan.violations import SEVERITY_ORDER, UNKNOWN_PREFIX, Violation, mandatory, sort_violations

__all__ = [
    "LEVELS", "SEVERITY_ORDER", "Evaluator", "PolicyConfig", "Violation", "evaluate", "load_policy_config",
    "mandatory", "parse_policy_config", "sort_violations",
]  # fmt: skip

_PROTO_LEVEL = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "remediate",
                proto.DISABLED: "disabled"}  # fmt: skip


class Evaluator:
    """The pack, configured once; `evaluate(plan)` may be called for many plans."""

    ENGINES = ("direct", "analyzer")

    def __init__(self, config: PolicyConfig | None = None, engine: str = "direct"):
        from skyrelay.policies.registry import PACK_ENFORCEMENT, PACK_NAME, all_policies

        if engine not in self.ENGINES:
            raise ValueError(f"engine must be one of {self.ENGINES}")
        self.engine = engine
        self.config = config or PolicyConfig()
        self.policies = all_policies()
        self.meta = {p.name: p for p in self.policies}
        self._name, self._default = PACK_NAME, PACK_ENFORCEMENT
        self._configure = self._configure_request()
        # What the analyzer's Configure hands each policy (the Struct round trip included).
        self._policy_config = {
            name: json_format.MessageToDict(entry.properties)
            for name, entry in self._configure.policyConfig.items()
            if entry.properties
        }
        active = [p for p in self.policies if self.level(p) is not EnforcementLevel.DISABLED]
        self._resource_policies = [p for p in active if isinstance(p, ResourceValidationPolicy)]
        self._stack_policies = [p for p in active if isinstance(p, StackValidationPolicy)]
        self._stack = self._servicer(self._stack_policies) if self._stack_policies and engine == "analyzer" else None
        self._by_type: dict[str, list] = {}
        self._servicers: dict[frozenset[str], Any] = {}

    # ---- configuration, as the engine sends it ----
    def level(self, policy) -> EnforcementLevel:
        levels = self.config.levels
        return levels.get(policy.name) or levels.get("all") or policy.enforcement_level or self._default

    def _reported_level(self, policy) -> str:
        level = self.level(policy)
        return "mandatory" if level is EnforcementLevel.REMEDIATE else level.value

    def _configure_request(self):
        request = proto.ConfigureAnalyzerRequest()
        for policy in self.policies:
            entry = request.policyConfig[policy.name]
            entry.enforcementLevel = {
                EnforcementLevel.ADVISORY: proto.ADVISORY, EnforcementLevel.MANDATORY: proto.MANDATORY,
                EnforcementLevel.REMEDIATE: proto.REMEDIATE, EnforcementLevel.DISABLED: proto.DISABLED,
            }[self.level(policy)]  # fmt: skip
            props = self.config.properties.get(policy.name)
            if props:
                entry.properties.update(props)
        return request

    def _servicer(self, policies):
        servicer = _PolicyAnalyzerServicer(self._name, "0.1.0", policies, self._default)
        servicer.Configure(self._configure, None)
        return servicer

    def _policies_for(self, type_token: str) -> list:
        """The resource policies that judge this type (the others would return at once)."""
        if type_token not in self._by_type:
            self._by_type[type_token] = [p for p in self._resource_policies if p.applies(type_token)]
        return self._by_type[type_token]

    # ---- evaluation ----
    def evaluate(self, plan: Plan) -> list[Violation]:
        if self.engine == "analyzer":
            return sort_violations(self._evaluate_analyzer(plan))
        return sort_violations(self._evaluate_direct(plan))

    def _evaluate_direct(self, plan: Plan) -> list[Violation]:

        violations: list[Violation] = []
        by_urn = {r.urn: r for r in plan.resources}
        needed = plan.resources if self._stack_policies else [
            r for r in plan.resources if self._policies_for(r.type) or r.urn in provider_urns(plan)
        ]  # fmt: skip
        props = {r.urn: plain_properties(r) for r in needed}
        providers: dict[str, Any] = {}

        def provider_of(r: PlannedResource):
            urn = r.provider.rsplit("::", 1)[0] if r.provider else None
            if urn not in by_urn:
                return None
            if urn not in providers:
                p = by_urn[urn]
                providers[urn] = PolicyProviderResource(p.type, props[urn], p.urn, p.name)
            return providers[urn]

        options = {r.urn: policy_options(r) for r in plan.resources}
        for r in plan.resources:
            for policy in self._policies_for(r.type):
                args = ResourceValidationArgs(
                    r.type, props[r.urn], r.urn, r.name, options[r.urn], provider_of(r),
                    self._policy_config.get(policy.name), {},
                )  # fmt: skip
                violations += self._run(policy, args, default_urn=r.urn)
        if not self._stack_policies:
            return violations
        stack_urn, stack_name = stack_identity(plan)
        root = PolicyResource(
            "pulumi:pulumi:Stack", unknown_checking_proxy(jsonable(plan.outputs)), stack_urn, stack_name,
            policy_options(None), None, None, [], {},
        )  # fmt: skip
        resources = {stack_urn: root}
        for r in plan.resources:
            resources[r.urn] = PolicyResource(
                r.type, props[r.urn], r.urn, r.name, options[r.urn], provider_of(r), None, [], {}
            )
        for r in plan.resources:
            res = resources[r.urn]
            res.parent = resources.get(r.parent or stack_urn)
            res.dependencies = [resources[d] for d in r.dependencies if d in resources]
            res.property_dependencies = {
                k: [resources[d] for d in urns if d in resources] for k, urns in r.property_dependencies.items()
            }
        stack_resources = list(resources.values())
        for policy in self._stack_policies:
            args = StackValidationArgs(stack_resources, self._policy_config.get(policy.name), {})
            violations += self._run(policy, args, default_urn="")
        return violations

    def _run(self, policy, args, default_urn: str) -> list[Violation]:
        """policy.validate(args, report) with the servicer's handling of levels, unknowns and N/A."""
        found: list[Violation] = []
        level = self._reported_level(policy)

        def report(message: str, urn: str | None = None) -> None:
            target = default_urn if default_urn else (urn or "")
            found.append(self._violation(policy, level, target, message or policy.description))

        try:
            result = policy.validate(args, report)
            if isawaitable(result):
                asyncio.run(result)
        except UnknownValueError as exc:
            message = (f"can't run policy '{policy.name}' from policy pack '{self._name}@v0.1.0' during "
                       f"preview: {exc.message}")  # fmt: skip
            found.append(self._violation(policy, "advisory", default_urn, message, unknown=True))
        except _NotApplicableError:
            pass
        return found

    def _violation(self, policy, level: str, urn: str, message: str, unknown: bool = False) -> Violation:
        return Violation(
            unknown=unknown,
            policy=policy.name,
            level=level,
            urn=urn,
            message=message,
            severity=policy.severity.value if policy.severity else "unspecified",
            remediation=policy.remediation_steps or "",
            description=policy.description,
        )

    def _evaluate_analyzer(self, plan: Plan) -> list[Violation]:
        by_urn = {r.urn: r for r in plan.resources}
        objects = {r.urn: wire_object(r) for r in plan.resources}
        violations: list[Violation] = []
        for r in plan.resources:
            policies = self._policies_for(r.type)
            if not policies:
                continue
            key = frozenset(p.name for p in policies)
            if key not in self._servicers:
                self._servicers[key] = self._servicer(policies)
            request = proto.AnalyzeRequest(type=r.type, urn=r.urn, name=r.name, options=analyzer_options(r))
            request.properties.CopyFrom(objects[r.urn])
            provider = analyzer_provider(r, by_urn, objects)
            if provider is not None:
                request.provider.CopyFrom(provider)
            violations += self._collect(self._servicers[key].Analyze(request, None), default_urn=r.urn)
        if self._stack is not None:
            violations += self._collect(self._stack.AnalyzeStack(self.stack_request(plan, by_urn, objects), None))
        return violations

    def stack_request(self, plan: Plan, by_urn=None, objects=None):
        by_urn = by_urn or {r.urn: r for r in plan.resources}
        objects = objects or {r.urn: wire_object(r) for r in plan.resources}
        request = proto.AnalyzeStackRequest()
        stack_urn, stack_name = stack_identity(plan)
        root = request.resources.add(type="pulumi:pulumi:Stack", urn=stack_urn, name=stack_name)
        root.properties.update(jsonable(plan.outputs))
        for r in plan.resources:
            item = request.resources.add(
                type=r.type, urn=r.urn, name=r.name, parent=r.parent or stack_urn, options=analyzer_options(r)
            )
            item.properties.CopyFrom(objects[r.urn])
            item.dependencies.extend(r.dependencies)
            for key, urns in r.property_dependencies.items():
                item.propertyDependencies[key].urns.extend(urns)
            provider = analyzer_provider(r, by_urn, objects)
            if provider is not None:
                item.provider.CopyFrom(provider)
        return request

    def _collect(self, response, default_urn: str = "") -> list[Violation]:
        """Diagnostics as violations; the engine attributes a resource policy's finding to the resource."""
        out = []
        for d in response.diagnostics:
            policy = self.meta[d.policyName]
            message = d.message
            if d.description and message.startswith(d.description + "\n"):
                message = message[len(d.description) + 1 :]
            level = _PROTO_LEVEL.get(d.enforcementLevel, "advisory")
            unknown = message.startswith(UNKNOWN_PREFIX) and "during preview" in message
            out.append(self._violation(policy, level, d.urn or default_urn, message, unknown=unknown))
        return out


def evaluate(plan: Plan, config: PolicyConfig | None = None, engine: str = "direct") -> list[Violation]:
    return Evaluator(config, engine).evaluate(plan)
