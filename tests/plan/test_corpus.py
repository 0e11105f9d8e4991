"""Every corpus program renders offline as a user runs it, with the violations its rules should flag,
and two renders (in two processes) are byte-identical; so are two renders of each of our stacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skyrelay.plan.report import short_urn
from tests.plan.corpus_cases import CASES
from tests.plan.renders import FORMATS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
TARGETS = [f"program:{name}" for name in sorted(CASES)] + [f"stack:{name}" for name in STACKS]


def start_render(seed: str) -> subprocess.Popen:
    env = os.environ | {"PYTHONHASHSEED": seed}
    return subprocess.Popen([sys.executable, "-m", "tests.plan.renders", *TARGETS], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out)


@pytest.fixture(scope="module")
def renders() -> tuple[dict, dict]:
    """Every target rendered in two processes at once, with different hash seeds."""
    first, second = start_render("1"), start_render("2")
    return finish(first), finish(second)


def test_every_corpus_folder_has_a_case_and_a_readme_naming_its_source():
    folders = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    assert folders == sorted(CASES) and len(folders) >= 10
    clouds = {name.split("-")[0] for name in folders}
    assert clouds == {"aws", "azure", "gcp"}
    for name in folders:
        readme = (CORPUS / name / "README.md").read_text()
        assert "pulumi/examples" in readme and "commit 40c09b266d44e9975e15289c42cc0c2ad8d14995" in readme
        assert "Written for skyrelay's plan corpus, not copied." in readme


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_program_renders_with_the_violations_its_rules_should_flag(renders, name):
    case = CASES[name]
    result = renders[0][f"program:{name} json"]
    assert result["exit"] == case.exit, result["error"] or result["stdout"][-2000:]
    doc = json.loads(result["stdout"])
    assert len(doc["resources"]) == case.resources == doc["summary"]["resources"]
    found = {f"{v['level'][0]} {v['policy']} {short_urn(v['urn'])}" for v in doc["violations"]}
    assert found == case.violations
    assert all(v["unknown_at_preview"] == (v["policy"] == "stack-tier-max-tokens-cap") for v in doc["violations"])
    unknown = {f"{short_urn(u['urn'])} {u['input']}" for u in doc["unknown_at_preview"]}
    assert unknown == case.unknown
    assert {f"{i['token']} {i['answer']}" for i in doc["invokes"]} == case.invokes
    # Every resource in the JSON is in the Markdown report's resource list too.
    markdown = renders[0][f"program:{name} markdown"]["stdout"]
    assert all(f"| {r['name']} | `{r['type']}` |" in markdown for r in doc["resources"])


@pytest.mark.parametrize("target", TARGETS)
def test_two_renders_are_byte_identical(renders, target):
    first, second = renders
    for fmt in FORMATS:
        a, b = first[f"{target} {fmt}"], second[f"{target} {fmt}"]
        assert a["exit"] in (0, 1), a["error"]
        assert a["stdout"] and a == b, f"{target} {fmt} differs between two renders"


def test_our_stacks_render_clean_and_aws_dev_has_nothing_unknown(renders):
    for stack in STACKS:
        result = renders[0][f"stack:{stack} json"]
        assert result["exit"] == 0, result["stdout"][-2000:]
        doc = json.loads(result["stdout"])
        assert doc["violations"] == [] and doc["resources"]
        # Dependencies come out sorted (they used to follow set order, which changes per process).
        assert all(r["dependencies"] == sorted(r["dependencies"]) for r in doc["resources"])
    aws = json.loads(renders[0]["stack:aws-dev json"]["stdout"])
    assert aws["unknown_at_preview"] == []
