"""Point 6 measured from a real Prometheus (`--prometheus URL`): a Prometheus server on loopback
scrapes a real `skyrelay serve` (the aws-dev router config on the provider simulator, as the check
serves it) with the /metrics token; the row reads PromQL `histogram_quantile` over the component
histograms and judges them against the budgets, and a budget they cannot meet fails it."""

import time
import urllib.parse
import urllib.request

import orjson
import pytest

from skyrelay.check import Status, localrun, p6_sla, sla, subject_of
from tests import peers

SCRAPE = """global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: skyrelay
    metrics_path: /metrics
    authorization: {{type: Bearer, credentials: {token}}}
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


def query(url: str, promql: str) -> list:
    with urllib.request.urlopen(url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}), timeout=10) as r:
        return orjson.loads(r.read())["data"]["result"]


@pytest.fixture
def served(aws_dev_plan, tmp_path):
    raw = subject_of(aws_dev_plan).router_raw
    with localrun.Simulator() as sim, localrun.Server(localrun.write_config(raw, sim.url, tmp_path)) as server:
        yield subject_of(aws_dev_plan), server


def test_the_row_reads_the_quantiles_from_a_real_prometheus(served, tmp_path):
    subject, server = served
    binary = peers.executable("prometheus", "apt-get install prometheus (scripts/system-deps.sh)")
    (tmp_path / "prometheus.yml").write_text(SCRAPE.format(token=localrun.METRICS_KEY, port=server.port))
    port = peers.free_port()
    prom = peers.start("prometheus", [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                      f"--web.listen-address=127.0.0.1:{port}"],
                       port=port, ready=peers.http_ok(f"http://127.0.0.1:{port}/-/ready"))
    try:
        deadline = time.monotonic() + 90
        count = 'sum(skyrelay_component_seconds_count{component="full_response"})'

        def scraped(n: int) -> bool:
            result = query(prom.url, count)
            return bool(result) and float(result[0]["value"][1]) >= n

        # The histogram series exist once observed: a first batch creates them and is scraped, so the
        # second batch is what rate() over the window sees.
        for batch in (1, 2):
            for i in range(15):
                assert server.chat("fast" if i % 2 else "quality")[0] == 200
            while not scraped(15 * batch):
                assert time.monotonic() < deadline, "Prometheus never scraped the traffic"
                time.sleep(0.5)
        time.sleep(2.5)  # two more scrapes after the traffic
        # budgets a loaded machine meets: what is under test is that the row judges Prometheus' figures
        loose = tmp_path / "loose.yaml"
        loose.write_text("budgets:\n" + "".join(f"  {c}: {{p50: 30, p95: 30, p99: 30}}\n" for c in sla.COMPONENTS))
        row = p6_sla.check(subject, loose, prom.url)
        got = sla.from_prometheus(prom.url)
        tight = tmp_path / "tight.yaml"
        tight.write_text("budgets:\n  full_response: {p50: 0.0000001}\n")
        over = p6_sla.check(subject, tight, prom.url)
    finally:
        prom.stop()
    assert row.status is Status.passed, row.evidence
    lines = [e for e in row.evidence if e.startswith("/v1/chat/completions ") and e.endswith("(Prometheus)")]
    assert len(lines) == 4, row.evidence
    full, ttft = got[("/v1/chat/completions", "full_response")], got[("/v1/chat/completions", "provider_ttft")]
    assert full["p99"] >= full["p50"] >= ttft["p50"] > 0
    assert over.status is Status.failed  # the judgment is on Prometheus' figures
    assert any("full_response" in e and "over budget at p50" in e for e in over.evidence), over.evidence
