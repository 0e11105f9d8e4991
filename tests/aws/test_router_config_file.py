"""The AWS router config travels as a file in the function's zip (docs/aws.md): the zip with it is
deterministic, a config change changes the code hash (a new published version for `live`) and not
the environment, and a failover region equal to the stack's region is refused naming the key."""

import zipfile

import pytest

from skyrelay.components.packaging import with_files, zip_sha256_base64

FUNCTION = "aws:lambda/function:Function"


def base_zip(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("skyrelay/__init__.py", "")
        zf.writestr("skyrelay-router.json", '{"old": true}')  # a file of the same name is replaced
    return path


def test_with_files_is_deterministic_and_changes_with_the_file(tmp_path):
    base = base_zip(tmp_path / "base.zip")
    one = with_files(base, [("skyrelay-router.json", '{"a":1}')], tmp_path / "a")
    two = with_files(base, [("skyrelay-router.json", '{"a":1}')], tmp_path / "b")
    other = with_files(base, [("skyrelay-router.json", '{"a":2}')], tmp_path / "c")
    assert one.read_bytes() == two.read_bytes()
    assert zip_sha256_base64(one) != zip_sha256_base64(other)
    with zipfile.ZipFile(one) as zf:
        assert sorted(zf.namelist()) == ["skyrelay-router.json", "skyrelay/__init__.py"]
        assert zf.read("skyrelay-router.json") == b'{"a":1}'
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_router_config_change_changes_the_code_hash_not_the_environment(project_root):
    from skyrelay.config import read_stack_file
    from skyrelay.plan import render_stack

    aws = {**read_stack_file(project_root / "stacks" / "Pulumi.aws-dev.yaml")["skyrelay:aws"], "failoverRegion": "us-east-2"}
    plans = [render_stack("aws-dev", project_root, overrides=o)[0] for o in ({}, {"skyrelay:aws": aws})]
    for name in ("jobs-worker", "api-handler"):
        before, after = (next(f for f in p.of_type(FUNCTION) if f.name == name) for p in plans)
        assert before.inputs["sourceCodeHash"] != after.inputs["sourceCodeHash"]
        assert before.inputs["environment"] == after.inputs["environment"]
        assert before.inputs["publish"] is True  # a new version, which the `live` alias follows
        with zipfile.ZipFile(after.inputs["code"]["path"]) as zf:
            assert b"us-east-2" in zf.read("skyrelay-router.json")


@pytest.mark.parametrize("region", ["us-east-1"])
def test_failover_region_equal_to_the_region_is_refused_naming_the_key(tmp_path, project_root, region):
    from tests.aws.test_bad_config_and_overrides import plan_with

    result = plan_with(tmp_path, project_root, lambda c: c["skyrelay:aws"].update(failoverRegion=region))
    assert result.exit_code == 2, result.output
    assert "skyrelay:aws.failoverRegion" in result.output and "must differ from region" in result.output
