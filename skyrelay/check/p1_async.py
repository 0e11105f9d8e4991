"""Point 1, async for anything over 10 s: every synchronous route fits inside the gateway's hard limit.

Judged on what the plan deploys: the API Gateway integrations' `timeoutMilliseconds` and the
timeouts of the functions behind them against 29 s (AWS; Azure and GCP gateways: 30 s), and the
router config's `api.sync_deadline_s`, which makes the API refuse a chat request whose max_tokens
cannot finish in time (runtime/api/sync_budget.py). The default max_tokens must itself fit at the
slowest configured output speed of every model, or every request without max_tokens is refused.
"""

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Async for anything over 10 s"
GATEWAY_LIMIT_S = {"aws": 29, "azure": 30, "gcp": 30}
INTEGRATION = "aws:apigateway/integration:Integration"
INTEGRATION_DEFAULT_MS = 29000
FIX = ("keep every synchronous route within the gateway limit (apiTimeoutSeconds <= 29, integration timeout <= "
       "29000 ms), set the router's api.sync_deadline_s and each deployment's output_tokens_per_s, and send long "
       "generations to POST /v1/jobs")


def check(subject: Subject) -> Row:
    limit = GATEWAY_LIMIT_S.get(subject.cloud)
    problems, warnings, evidence = [], [], []
    if limit is None:
        return judged(1, TITLE, [f"no gateway found in the plan (cloud {subject.cloud!r})"], [], FIX)
    if subject.cloud == "aws":
        _aws_routes(subject, limit, problems, evidence)
    _router(subject, limit, problems, warnings, evidence)
    return judged(1, TITLE, problems, evidence, FIX, warnings, {"gateway_limit_s": limit})


def _aws_routes(subject: Subject, limit: int, problems: list[str], evidence: list[str]) -> None:
    integrations = subject.of_type(INTEGRATION)
    if not integrations:
        problems.append("no API Gateway integration in the plan: no synchronous route to judge")
        return
    over = []
    longest = 0
    for i in integrations:
        ms = i.inputs.get("timeoutMilliseconds") or INTEGRATION_DEFAULT_MS
        longest = max(longest, ms)
        if ms > limit * 1000:
            over.append(f"{i.name} ({ms} ms)")
    if over:
        problems.append(f"integration timeout over {limit * 1000} ms: {', '.join(over)}")
    evidence.append(f"{len(integrations)} API Gateway integrations, longest timeoutMilliseconds {longest}")
    uris = " ".join(str(i.inputs.get("uri", "")) for i in integrations)
    for fn in subject.functions():
        name = fn.inputs.get("name")
        if name and f"function:{name}/" in uris:
            timeout = fn.inputs.get("timeout", 3)
            if timeout > limit:
                problems.append(f"function {name} behind the API has timeout {timeout} s, over the {limit} s limit")
            evidence.append(f"function {name} (behind the API): timeout {timeout} s <= {limit} s"
                            if timeout <= limit else f"function {name}: timeout {timeout} s")


def _router(subject: Subject, limit: int, problems: list[str], warnings: list[str], evidence: list[str]) -> None:
    cfg = subject.router
    if cfg is None:
        problems.append(subject.router_error or "no router config in the plan (CONFIG_JSON)")
        return
    deadline = cfg.api.sync_deadline_s
    if deadline is None:
        problems.append("router api.sync_deadline_s is not set: a sync chat whose max_tokens cannot finish is not "
                        "refused before the gateway cuts it")
        return
    if deadline > limit:
        problems.append(f"router api.sync_deadline_s {deadline:g} s is over the gateway's {limit} s")
    evidence.append(f"router api.sync_deadline_s {deadline:g} s: longer sync chats are refused with use_async_jobs "
                    "(POST /v1/jobs)")
    default = cfg.api.default_max_tokens
    for model, m in cfg.models.items():
        speeds = [cfg.deployment(d).output_tokens_per_s for d in m.deployments]
        known = [s for s in speeds if s is not None]
        if not known:
            warnings.append(f"model {model}: no deployment has output_tokens_per_s, its sync requests are not judged")
            continue
        most = int(min(known) * deadline)
        if default is not None and default > most:
            problems.append(f"model {model}: default max_tokens {default} cannot finish in {deadline:g} s at "
                            f"{min(known):g} tokens/s (at most {most})")
        else:
            evidence.append(f"model {model}: at most {most} tokens sync at {min(known):g} tokens/s"
                            + (f", default max_tokens {default} fits" if default else ""))
