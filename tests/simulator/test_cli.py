"""`skyrelay simulate` as a user starts it: a real process that the official openai client can call."""

import json
import subprocess
import sys
import time
import urllib.request

import openai

from tests import peers


def test_simulate_command_serves_openai_and_counts_calls():
    port = peers.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "skyrelay.cli.main", "simulate", "--port", str(port), "--tokens", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/_sim/calls", timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(model="gpt-cli", messages=[{"role": "user", "content": "hi"}])
        assert reply.usage.completion_tokens == 5
        with urllib.request.urlopen(f"{base}/_sim/calls") as resp:
            calls = json.loads(resp.read())
        assert "gpt-cli" in str(calls)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
