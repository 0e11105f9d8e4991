"""Schemathesis over the whole served OpenAPI document (chat, models, jobs, health, metrics, the document
itself), against `skyrelay serve` with its job worker process on loopback and the provider simulator:
no server error, and every response (status, content type, headers, body, SSE events) as documented.

Bounded: `MAX_EXAMPLES` cases per operation and phase, a fixed seed (set SKYRELAY_FUZZ_SEED to explore)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.servekit import Serve, example_config

MAX_EXAMPLES = 30
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
TENANT_KEY, METRICS_KEY = "sk-test-fuzz", "sk-test-fuzz-metrics"


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_schemathesis_finds_no_server_error_and_only_documented_responses(tmp_path, sim):
    cfg = example_config(tmp_path, sim.base_url, api={"metrics_keys": [_sha(METRICS_KEY)]})
    # Enterprise: high limits and every model class, so the cases reach validation and routing
    cfg["tenants"].append({"name": "fuzz", "tier": "enterprise", "api_keys": [_sha(TENANT_KEY)]})
    cfg["deployments"].append({"name": "fuzz-embed", "model": "embed", "provider": "openai_compat", "auth": "none",
                               "upstream_model": "text-embedding-3-small", "endpoint": sim.base_url,
                               "capabilities": ["embeddings"]})  # so /v1/embeddings reaches a provider
    cfg["models"]["embed"] = {"deployments": ["fuzz-embed"]}
    settings = tmp_path / "schemathesis.toml"  # /metrics takes its own token
    settings.write_text(f'[[operations]]\ninclude-path = "/metrics"\n'
                        f'headers = {{ Authorization = "Bearer {METRICS_KEY}" }}\n')
    seed = os.environ.get("SKYRELAY_FUZZ_SEED", "1")
    with Serve(tmp_path, cfg) as srv:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(settings), "run",
             srv.url + "/openapi.json", "--checks", CHECKS, "-H", f"Authorization: Bearer {TENANT_KEY}",
             "--max-examples", str(MAX_EXAMPLES), "--phases", "examples,coverage,fuzzing,stateful", "--seed", seed,
             "--request-timeout", "30"],
            capture_output=True, text=True, timeout=300)
        log = srv.output()
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "16 selected / 16 total" in proc.stdout, proc.stdout[-3000:]  # every operation of the document
    assert " passed" in proc.stdout and "failed" not in proc.stdout.split("SUMMARY")[-1]
    assert "Traceback" not in log, log[-3000:]  # nothing crashed inside the server either
