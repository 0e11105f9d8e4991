"""Point 2, a circuit breaker on every LLM client, with a fallback.

Every deployment the router calls has a breaker (the `breaker` section applies to each; the
figures are shown as evidence). Every model needs a fallback: a second deployment to fail over to,
or a configured fallback response (`models.<m>.fallback`), which the router returns, marked, while
every breaker of the model is open (runtime/router/fallback.py).
"""

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Circuit breaker on every LLM client, with a fallback"
FIX = "give each model a second deployment (another region or provider) or a `fallback: {text: ...}` response"


def check(subject: Subject) -> Row:
    cfg = subject.router
    if cfg is None:
        return judged(2, TITLE, [subject.router_error or "no router config in the plan (CONFIG_JSON)"], [], FIX)
    b = cfg.breaker
    evidence = [f"breaker on each of {len(cfg.deployments)} deployments: opens after {b.failure_threshold} "
                f"consecutive failures, half-open after {b.open_s:g} s"]
    evidence.append(f"router config: {subject.router_source}")
    problems = []
    for name, m in cfg.models.items():
        serving = subject.serving(m)
        if len(serving) > 1:
            evidence.append(f"model {name}: fails over {' -> '.join(serving)}"
                            + (" -> fallback response" if m.fallback else ""))
        elif m.fallback is not None:
            evidence.append(f"model {name}: one deployment ({serving[0]}), fallback response "
                            f"{m.fallback.text[:40]!r} while its breaker is open")
        else:
            problems.append(f"model {name}: one deployment ({serving[0]}) and no fallback response")
    return judged(2, TITLE, problems, evidence, FIX)
