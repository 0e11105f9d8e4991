"""`skyrelay jobs replay-dlq` run as a user runs it, for the platform replay tests: a fresh process
with the deployment's environment (the kit's), the router config written to a file, --json out."""

import json
import os
import subprocess
import sys

import yaml


def replay_dlq(kit, tmp_path, deployment: str, *args) -> dict:
    config = tmp_path / "skyrelay.yaml"
    config.write_text(yaml.safe_dump(json.loads(kit.env["SKYRELAY_CONFIG_JSON"])))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYRELAY_")} | kit.env
    env.pop("SKYRELAY_CONFIG_JSON")
    out = subprocess.run([sys.executable, "-m", "skyrelay.cli.main", "jobs", "replay-dlq", "--config", str(config),
                          "--deployment", deployment, "--json", *args], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)
