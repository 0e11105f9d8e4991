"""Preview semantics: what is unknown at preview stays unknown, `.apply` on it does not run, invokes
answer, rules see unknowns as CrossGuard does, and failures say where and what to do."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skyrelay.plan import ProgramError

ROOT = Path(__file__).resolve().parents[2]

# An HTTP API's execution ARN is computed by AWS. Run with None (as before preview mode), the apply
# would raise TypeError; it also writes a marker file, so the test sees whether it ran at all.
APPLY_ON_UNKNOWN = """
import pathlib
import pulumi, pulumi_aws as aws

def extend(arn):
    pathlib.Path("apply-ran").write_text("yes")
    return arn + "/*/*"

api = aws.apigatewayv2.Api("http", protocol_type="HTTP")
fn = aws.lambda_.Function("fn", role="arn:aws:iam::123456789012:role/r", runtime="python3.12", handler="a.h",
                          code=pulumi.AssetArchive({}))
aws.lambda_.Permission("invoke", action="lambda:InvokeFunction", function=fn.name,
                       principal="apigateway.amazonaws.com", source_arn=api.execution_arn.apply(extend))
rest = aws.apigateway.RestApi("rest")
stage = aws.apigateway.Stage("stage", rest_api=rest.id, deployment="d1", stage_name="v1")
aws.lambda_.Permission("rest-invoke", action="lambda:InvokeFunction", function=fn.name,
                       principal="apigateway.amazonaws.com", source_arn=stage.execution_arn.apply(lambda a: a + "/*/*"))
pulumi.export("endpoint", api.api_endpoint.apply(lambda e: e + "/v1"))
"""


def run_plan(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "skyrelay.cli.main", "plan", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def program(tmp_path: Path, source: str) -> Path:
    (tmp_path / "__main__.py").write_text(textwrap.dedent(source))
    return tmp_path


def by_name(plan, name):
    return next(r for r in plan.resources if r.name == name)


def test_apply_on_an_unknown_output_does_not_run_and_its_property_is_unknown_in_json_and_text(tmp_path):
    folder = program(tmp_path, APPLY_ON_UNKNOWN)
    result = run_plan("--program", str(folder), "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    assert not (folder / "apply-ran").exists()
    doc = json.loads(result.stdout)
    invoke = next(r for r in doc["resources"] if r["name"] == "invoke")
    assert invoke["inputs"]["sourceArn"] == "<unknown>"
    assert {"urn": invoke["urn"], "input": "sourceArn"} in doc["unknown_at_preview"]
    assert doc["summary"]["unknown_at_preview"] == len(doc["unknown_at_preview"]) >= 1
    assert doc["outputs"]["endpoint"] == "<unknown>"
    # What the mocks know stays known: the REST stage's execution ARN, and the apply over it ran.
    rest = next(r for r in doc["resources"] if r["name"] == "rest-invoke")
    assert rest["inputs"]["sourceArn"].startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert rest["inputs"]["sourceArn"].endswith("/v1/*/*")
    text = run_plan("--program", str(folder))
    assert "Unknown at preview: 1 input value(s)" in text.stdout
    assert "aws:lambda/permission:Permission::invoke  sourceArn" in text.stdout
    markdown = run_plan("--program", str(folder), "--format", "markdown")
    assert "| `aws:lambda/permission:Permission::invoke` | `sourceArn` |" in markdown.stdout


def test_inputs_built_from_unknowns_are_unknown_and_composed_answers_too(tmp_path, render_program):
    plan = render_program(program(tmp_path, """
        import pulumi, pulumi_aws as aws
        api = aws.apigatewayv2.Api("http", protocol_type="HTTP")
        # The queue's name is unknown, so the ARN and URL the mocks compose from it are unknown too.
        q = aws.sqs.Queue("q", name=api.execution_arn.apply(lambda a: a.split(":")[-1]))
        aws.sqs.QueuePolicy("qp", queue_url=q.url, policy=pulumi.Output.json_dumps({"Resource": q.arn}))
        aws.sqs.Queue("known", name="jobs")
    """), {})
    assert by_name(plan, "q").inputs["name"] == "<unknown>"
    assert by_name(plan, "qp").inputs == {"queueUrl": "<unknown>", "policy": "<unknown>"}
    assert "<unknown>" not in json.dumps(by_name(plan, "known").inputs)


def test_invokes_answer_from_the_table_from_context_or_with_unknowns_of_their_type(tmp_path, render_program):
    plan = render_program(program(tmp_path, """
        import pathlib
        import pulumi, pulumi_aws as aws
        from pulumi_azure_native import storage, web

        region = aws.get_region()
        partition = aws.get_partition()
        caller = aws.get_caller_identity_output()
        aws.sqs.Queue("q", name=f"jobs-{region.region}-{partition.partition}-{partition.dns_suffix}")
        aws.sns.Topic("t", name=caller.account_id.apply(lambda a: f"alerts-{a}"))

        # A plain invoke the plan cannot compute: an object of its result class, indexable.
        keys = storage.list_storage_account_keys(resource_group_name="rg", account_name="sa")
        web.WebApp("app", resource_group_name="rg", server_farm_id="plan", site_config={"app_settings": [
            {"name": "KEY", "value": keys.keys[0].value}, {"name": "FIXED", "value": "1"}]})

        # Its Output form is wholly unknown: nothing applied to it runs.
        def record(v):
            pathlib.Path("ran").write_text(str(v))
            return v
        ami = aws.ec2.get_ami_output(owners=["amazon"], most_recent=True)
        aws.ec2.Instance("vm", ami=ami.id.apply(record), instance_type="t3.micro")
        aws.ec2.Instance("vm2", ami=ami.image_id, instance_type=ami.architecture.apply(lambda a: a + "x"))
    """), {"aws:region": "eu-west-1"})
    assert by_name(plan, "q").inputs["name"] == "jobs-eu-west-1-aws-amazonaws.com"
    assert by_name(plan, "t").inputs["name"] == "alerts-123456789012"
    settings = by_name(plan, "app").inputs["siteConfig"]["appSettings"]
    assert settings == [{"name": "KEY", "value": "<unknown>"}, {"name": "FIXED", "value": "1"}]
    assert by_name(plan, "vm").inputs["ami"] == "<unknown>" and not (tmp_path / "ran").exists()
    assert by_name(plan, "vm2").inputs["instanceType"] == "<unknown>"
    answers = {i["token"]: i["answer"] for i in plan.invokes}
    assert answers == {
        "aws:index/getRegion:getRegion": "context",
        "aws:index/getPartition:getPartition": "computed",
        "aws:index/getCallerIdentity:getCallerIdentity": "context",
        "azure-native:storage:listStorageAccountKeys": "unknown",
        "aws:ec2/getAmi:getAmi": "unknown",
    }
    # The account id no config gave is a placeholder, flagged with the key that sets it.
    assert plan.placeholders == [{
        "invoke": "aws:index/getCallerIdentity:getCallerIdentity", "field": "accountId", "value": "123456789012",
        "set": '--config aws:allowedAccountIds=["ACCOUNT_ID"]',
    }]  # fmt: skip


def test_context_invokes_read_the_providers_config(tmp_path, render_program):
    plan = render_program(program(tmp_path, """
        import pulumi, pulumi_gcp as gcp
        from pulumi_azure_native import authorization, resources
        project = gcp.organizations.get_project()
        client = gcp.organizations.get_client_config()
        gcp.storage.Bucket("b", location="EU", labels={"p": project.project_id, "n": project.number,
                                                        "r": client.region})
        azure = authorization.get_client_config()
        resources.ResourceGroup("rg", tags={"sub": azure.subscription_id, "tenant": azure.tenant_id})
        other = aws = __import__("pulumi_aws")
        west = aws.Provider("west", region="us-west-2")
        r = aws.get_region(opts=pulumi.InvokeOptions(provider=west))
        aws.sqs.Queue("q", name=f"q-{r.region}", opts=pulumi.ResourceOptions(provider=west))
    """), {"gcp:project": "acme-prod", "gcp:region": "europe-west4", "aws:allowedAccountIds": '["210987654321"]',
           "azure-native:subscriptionId": "abcdefab-0000-0000-0000-000000000000"})  # fmt: skip
    assert by_name(plan, "b").inputs["labels"] == {"p": "acme-prod", "n": "123456789012", "r": "europe-west4"}
    assert by_name(plan, "rg").inputs["tags"] == {
        "sub": "abcdefab-0000-0000-0000-000000000000", "tenant": "11111111-1111-1111-1111-111111111111"}  # fmt: skip
    assert by_name(plan, "q").inputs["name"] == "q-us-west-2"  # from the invoke's own provider
    flagged = {(p["invoke"].split(":")[-1], p["field"]) for p in plan.placeholders}
    assert flagged == {("getProject", "number"), ("getClientConfig", "accessToken"), ("getClientConfig", "clientId"),
                       ("getClientConfig", "objectId"), ("getClientConfig", "tenantId")}  # fmt: skip


def test_a_rule_that_needs_an_unknown_reports_unknown_at_preview_and_is_counted(tmp_path):
    folder = program(tmp_path, """
        import pulumi_aws as aws
        key = aws.kms.get_key_output(key_id="alias/jobs")
        tags = {"cost-center": "cc", "environment": "dev", "team": "t"}
        aws.sqs.Queue("dlq", sqs_managed_sse_enabled=True, tags=tags)
        aws.sqs.Queue("jobs", kms_master_key_id=key.arn, tags=tags)
    """)
    result = run_plan("--program", str(folder), "--format", "json")
    doc = json.loads(result.stdout)
    found = [v for v in doc["violations"] if v["policy"] == "aws-sqs-encryption"]
    assert len(found) == 1 and found[0]["urn"].endswith("::jobs")
    assert found[0]["level"] == "advisory" and found[0]["unknown_at_preview"] is True
    assert "can't be known during preview" in found[0]["message"] and ".kmsMasterKeyId" in found[0]["message"]
    text = run_plan("--program", str(folder))
    assert "of them unknown at preview" in text.stdout and "(unknown at preview)" in text.stdout


# ---- errors users can act on ----
def test_missing_config_names_the_key_to_set(tmp_path):
    folder = program(tmp_path, """
        import pulumi
        config = pulumi.Config()
        name = config.require("dbName")
    """)
    (folder / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    result = run_plan("--program", str(folder))
    assert result.returncode == 2
    assert "missing-config at " in result.stderr and "__main__.py:4" in result.stderr
    assert "--config shop:dbName=VALUE" in result.stderr
    fixed = run_plan("--program", str(folder), "--config", "dbName=orders")
    assert fixed.returncode == 0, fixed.stderr
    assert "shop / dev (0 resources)" in fixed.stdout


def test_plain_code_over_an_unknown_is_unknown_at_preview_naming_the_invoke(tmp_path, render_program):
    program(tmp_path, """
        import pulumi_aws as aws
        ami = aws.ec2.get_ami(owners=["amazon"], most_recent=True)
        size = int(ami.image_id)
    """)
    with pytest.raises(ProgramError) as err:
        render_program(tmp_path, {})
    e = err.value
    assert (e.kind, e.line, e.invoke) == ("unknown-at-preview", 4, "aws:ec2/getAmi:getAmi:imageId")
    assert "int(ami.image_id)" in e.source and "<unknown>" in e.message and "04da6b54" not in e.message
    assert "only known after deployment" in str(e)


def test_a_resource_the_program_gets_wrong_is_a_program_error_naming_the_resource(tmp_path, render_program):
    program(tmp_path, """
        import pulumi_aws as aws
        trust = aws.iam.get_policy_document(statements=[])
        role = aws.iam.Role("worker-role", description="no trust policy given")
    """)
    with pytest.raises(ProgramError) as err:
        render_program(tmp_path, {})
    e = err.value
    assert (e.kind, e.line) == ("program-error", 4)
    assert e.resource == "aws.iam.Role('worker-role')"
    assert "assume_role_policy" in e.message


def test_an_invoke_with_no_answer_and_no_result_class_is_an_unsupported_invoke(tmp_path, render_program):
    program(tmp_path, """
        import pulumi
        thing = pulumi.runtime.invoke("acme:index/getThing:getThing", {}).value
        name = thing["name"].upper()
    """)
    with pytest.raises(ProgramError) as err:
        render_program(tmp_path, {})
    assert (err.value.kind, err.value.line, err.value.invoke) == ("unsupported-invoke", 4, "acme:index/getThing:getThing")
    assert "TABLE in skyrelay/plan/invokes.py" in str(err.value)
