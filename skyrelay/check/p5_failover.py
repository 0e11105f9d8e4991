"""Point 5, failover tested: kill the primary, and the secondary takes over in < 10 s.

Without --failover the row judges the config: each model needs a second deployment (the hedge
bounds a hung primary's cost by `hedge.max_s`, an erroring one fails over at once); a model with
only a fallback response warns (a killed primary fails requests until its breaker opens); a model
with neither fails. With --failover it runs the scenario (takeover.py) on the simulator and judges
the measurements: takeover < 10 s (the seed's bound) and 0 failed requests pass; over our target of
1 s warns.
"""

from skyrelay.check.model import CheckInputError, Row, judged
from skyrelay.check.subject import Subject

TITLE = "Failover tested: the secondary takes over in < 10 s"
BOUND_S, TARGET_S = 10.0, 1.0
FIX = "give each model a second deployment (another region or provider), then run `skyrelay check --failover`"


def check(subject: Subject, measure: bool = False) -> Row:
    cfg = subject.router
    if cfg is None:
        return judged(5, TITLE, [subject.router_error or "no router config in the plan (CONFIG_JSON)"], [], FIX)
    if measure:
        return _measured(subject)
    problems, warnings, evidence = [], [], []
    bound = cfg.hedge.max_s if cfg.hedge.enabled else cfg.timeouts.ttft_s
    for name, m in cfg.models.items():
        serving = subject.serving(m)
        if len(serving) > 1:
            evidence.append(f"model {name}: {serving[0]} -> {serving[1]}; a hung primary costs at most "
                            f"{bound:g} s ({'hedge.max_s' if cfg.hedge.enabled else 'timeouts.ttft_s'}), an erroring "
                            "one fails over at once")
            if bound >= BOUND_S:
                problems.append(f"model {name}: a hung primary may cost {bound:g} s, over {BOUND_S:g} s")
        elif m.fallback is not None:
            warnings.append(f"model {name}: no second deployment; a killed {serving[0]} fails requests until "
                            f"its breaker opens ({cfg.breaker.failure_threshold} failures), then the fallback answers")
        else:
            problems.append(f"model {name}: no second deployment and no fallback: nothing takes over")
    evidence.append("not measured: `skyrelay check --failover` runs the scenario on the simulator")
    return judged(5, TITLE, problems, evidence, FIX, warnings)


def _measured(subject: Subject) -> Row:
    from skyrelay.check import takeover

    try:
        results = takeover.run(subject.router_raw)
    except (OSError, RuntimeError) as exc:
        raise CheckInputError(f"--failover: the simulator run failed: {exc}") from None
    problems, warnings, evidence = [], [], []
    for r in results:
        line = (f"model {r.model}, primary {r.primary} {r.kill}: takeover "
                f"{'never' if r.takeover_s is None else f'{r.takeover_s:.3f} s'}, {r.failed} failed of "
                f"{r.requests} in flight or sent after the kill, slowest {r.worst_s:.3f} s, answered by {', '.join(r.answered_by)}")
        if r.takeover_s is None or r.takeover_s >= BOUND_S or r.failed:
            problems.append(line)
        elif r.takeover_s >= TARGET_S:
            warnings.append(line + f" (target < {TARGET_S:g} s)")
        else:
            evidence.append(line)
    figures = {"runs": [r.__dict__ for r in results]}
    return judged(5, TITLE, problems, evidence, FIX, warnings, figures)
