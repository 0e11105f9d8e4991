"""Point 6: /metrics has the per-route, per-component histograms; `skyrelay check --sla` on the local
stack prints measured p50/p95/p99 against the budgets, fails on a budget the run cannot meet, and
prints the composite availability; bad SLA input exits 2."""

import json
import re
import subprocess
import sys

import openai

from skyrelay.check import Status, p6_sla, sla, subject_of
from skyrelay.check.localrun import free_port
from tests.conftest import ROOT
from tests.servekit import FREE, Serve, example_config, http

METRICS_TOKEN = "sk-demo-metrics"  # examples/local.yaml's /metrics token


def run_check(*args):
    return subprocess.run([sys.executable, "-m", "skyrelay.cli.main", "check", "--stack", "aws-dev", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_metrics_expose_component_histograms_per_route(tmp_path, sim):
    with Serve(tmp_path, example_config(tmp_path, sim.base_url, cache={"enabled": False})) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=FREE, max_retries=0)
        client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}], max_tokens=8)
        list(client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}], max_tokens=8,
                                            stream=True))
        status, _, body = http("GET", srv.url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200
        text = body.decode() if isinstance(body, bytes) else str(body)
    for component in ("auth_limit", "routing", "provider_ttft", "full_response"):
        pattern = rf'skyrelay_component_seconds_count\{{component="{component}",route="/v1/chat/completions"\}} (\S+)'
        count = re.search(pattern, text)
        assert count and float(count.group(1)) == 2.0, (component, text[:2000])
    assert 'skyrelay_request_seconds_bucket{deployment="fast-bedrock"' in text
    measured = sla.quantiles_from_exposition(text)
    full, ttft = measured[("/v1/chat/completions", "full_response")], measured[("/v1/chat/completions", "provider_ttft")]
    assert full["p50"] >= ttft["p50"] > 0


def test_sla_on_the_local_stack_prints_quantiles_against_budgets(tmp_path):
    ok = tmp_path / "sla.yaml"
    ok.write_text("requests: 40\n")
    result = run_check("--sla", str(ok), "--format", "json")
    row = json.loads(result.stdout)["rows"][5]
    assert row["status"] == "pass", row
    lines = [e for e in row["evidence"] if e.startswith("/v1/chat/completions ")]
    assert len(lines) == 4 and all("p50 " in e and "p95 " in e and "p99 " in e for e in lines), lines
    assert any(re.match(r"/v1/chat/completions provider_ttft: p50 [\d.]+ ms / 500, p95 [\d.]+ ms / 1500, p99 [\d.]+ "
                        r"ms / 3000 \(built-in load run, 40 requests\)", e) for e in lines), lines
    assert row["figures"]["availability"]["composite"] == "99.9%"  # active-passive: a second region per model
    tight = tmp_path / "tight.yaml"
    tight.write_text("requests: 40\nbudgets:\n  provider_ttft: {p99: 0.000001}\n")
    result = run_check("--sla", str(tight))
    assert result.returncode == 1, result.stdout
    assert re.search(r"provider_ttft: .*p99 [\d.]+ ms / 0\.001 .*over budget at p99", result.stdout)


def test_availability_follows_the_failover_set_up(aws_dev_plan):
    import yaml

    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    row = p6_sla.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.warn  # not measured
    assert any(e.startswith("model fast: active-passive (2 deployment(s), priority): 99.9%") for e in row.evidence)
    raw["models"]["fast"]["strategy"] = "latency"
    row = p6_sla.check(subject_of(aws_dev_plan, raw))
    assert any(e.startswith("model fast: active-active + breaker (2 deployment(s), latency): 99.95%")
               for e in row.evidence)
    assert any(e.startswith("composite availability: 99.9% (the weakest model)") for e in row.evidence)


def test_bad_sla_input_exits_2(tmp_path):
    for text, named in [("budgets: [", "--sla"), ("budgets:\n  routing: {p98: 1}\n", "budgets.routing.p98"),
                        ("budgets:\n  speed: {p99: 1}\n", "budgets.speed"), ("budgets:\n  routing: {p99: -1}\n",
                                                                              "positive number")]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        result = run_check("--sla", str(bad))
        assert result.returncode == 2 and named in result.stderr, (text, result.stderr)
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_check("--prometheus", closed)
    assert result.returncode == 2 and "unreachable" in result.stderr, result.stderr


def test_histogram_quantile_interpolates_like_promql():
    buckets = [(0.1, 10.0), (0.2, 30.0), (0.4, 40.0), (float("inf"), 40.0)]
    assert abs(sla.histogram_quantile(0.5, buckets) - 0.15) < 1e-9
    assert abs(sla.histogram_quantile(0.99, buckets) - 0.392) < 1e-9
    assert sla.histogram_quantile(0.5, [(float("inf"), 0.0)]) is None
