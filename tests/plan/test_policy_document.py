"""`aws.iam.get_policy_document` under `skyrelay plan` returns the JSON the provider documents.

Each case is a documented example of terraform-provider-aws's `aws_iam_policy_document` (which
pulumi-aws bridges): the examples of website/docs/d/iam_policy_document.html.markdown and the
expected document of the provider's acceptance test (policy_document_data_source_test.go). The
documents there still show `"Sid": ""` on statements without a Sid: provider v5 dropped it
(hashicorp/terraform-provider-aws#28539, "Omit Sid in aws_iam_policy_document data source when
empty"); pulumi-aws 7 is built on provider v6, so the expected documents leave it out.

The program calls the SDK function itself, so the arguments travel as they do for a user.
"""

import json
import textwrap

import pytest

from skyrelay.plan import ProgramError

PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws
    from pulumi_aws.iam import GetPolicyDocumentStatementArgs as S
    from pulumi_aws.iam import GetPolicyDocumentStatementConditionArgs as C
    from pulumi_aws.iam import GetPolicyDocumentStatementPrincipalArgs as P

    doc = aws.iam.get_policy_document

    # The provider's acceptance test (TestAccAWSDataSourceIAMPolicyDocument_basic).
    basic = doc(policy_id="policy_id", statements=[
        S(sid="1", actions=["s3:ListAllMyBuckets", "s3:GetBucketLocation"], resources=["arn:aws:s3:::*"]),
        S(actions=["s3:ListBucket"], resources=["arn:aws:s3:::foo"],
          conditions=[C(test="StringLike", variable="s3:prefix", values=["home/", "", "home/&{aws:username}/"])],
          not_principals=[P(type="AWS", identifiers=["arn:blahblah:example"])]),
        S(actions=["s3:*"], resources=["arn:aws:s3:::foo/home/&{aws:username}", "arn:aws:s3:::foo/home/&{aws:username}/*"],
          principals=[P(type="AWS", identifiers=["arn:blahblah:example"])]),
        S(effect="Deny", not_actions=["s3:*"], not_resources=["arn:aws:s3:::*"]),
        S(effect="Allow", actions=["kinesis:*"], principals=[P(type="AWS", identifiers=["*"])]),
        S(effect="Allow", actions=["firehose:*"], principals=[P(type="*", identifiers=["*"])]),
    ])

    # "Example Multiple Condition Keys" (dict inputs, as many programs write them).
    condition_keys = doc(statements=[{
        "actions": ["kms:Decrypt", "kms:GenerateDataKey"],
        "resources": ["*"],
        "conditions": [
            {"test": "ForAnyValue:StringEquals", "variable": "kms:EncryptionContext:service", "values": ["pi"]},
            {"test": "ForAnyValue:StringEquals", "variable": "kms:EncryptionContext:aws:pi:service", "values": ["rds"]},
        ],
    }])

    # "Example Using A Source Document".
    source = doc(statements=[S(actions=["ec2:*"], resources=["*"]), S(sid="SidToOverride", actions=["s3:*"], resources=["*"])])
    with_source = doc(source_policy_documents=[source.json], statements=[
        S(sid="SidToOverride", actions=["s3:*"], resources=["arn:aws:s3:::somebucket", "arn:aws:s3:::somebucket/*"]),
    ])

    # "Example Using An Override Document".
    override = doc(statements=[S(sid="SidToOverride", actions=["s3:*"], resources=["*"])])
    with_override = doc(override_policy_documents=[override.json], statements=[
        S(actions=["ec2:*"], resources=["*"]),
        S(sid="SidToOverride", actions=["s3:*"], resources=["arn:aws:s3:::somebucket", "arn:aws:s3:::somebucket/*"]),
    ])

    # "Example with Both Source and Override Documents".
    placeholder_source = doc(statements=[S(sid="OverridePlaceholder", actions=["ec2:DescribeAccountAttributes"], resources=["*"])])
    placeholder_override = doc(statements=[S(sid="OverridePlaceholder", actions=["s3:GetObject"], resources=["*"])])
    politik = doc(source_policy_documents=[placeholder_source.json], override_policy_documents=[placeholder_override.json])

    # "Example of Merging Source Documents".
    source_one = doc(statements=[S(actions=["ec2:*"], resources=["*"]), S(sid="UniqueSidOne", actions=["s3:*"], resources=["*"])])
    source_two = doc(statements=[S(sid="UniqueSidTwo", actions=["iam:*"], resources=["*"]), S(actions=["lambda:*"], resources=["*"])])
    merged_sources = doc(source_policy_documents=[source_one.json, source_two.json])

    # "Example of Merging Override Documents".
    policy_one = doc(statements=[S(sid="OverridePlaceHolderOne", effect="Allow", actions=["s3:*"], resources=["*"])])
    policy_two = doc(statements=[S(effect="Allow", actions=["ec2:*"], resources=["*"]),
                                 S(sid="OverridePlaceHolderTwo", effect="Allow", actions=["iam:*"], resources=["*"])])
    policy_three = doc(statements=[S(sid="OverridePlaceHolderOne", effect="Deny", actions=["logs:*"], resources=["*"])])
    merged_overrides = doc(override_policy_documents=[policy_one.json, policy_two.json, policy_three.json],
                           statements=[S(sid="OverridePlaceHolderTwo", effect="Deny", actions=["*"], resources=["*"])])

    role = aws.iam.Role("role", assume_role_policy=doc(statements=[S(
        actions=["sts:AssumeRole"], principals=[P(type="Service", identifiers=["lambda.amazonaws.com"])])]).json)

    for name, value in list(globals().items()):
        if hasattr(value, "json") and hasattr(value, "minified_json"):
            pulumi.export(name, {"json": value.json, "minified": value.minified_json, "id": value.id})
    """
)

ALLOW_ALL = {"Effect": "Allow", "Resource": "*"}
DOCUMENTED = {
    "basic": {
        "Version": "2012-10-17",
        "Id": "policy_id",
        "Statement": [
            {"Sid": "1", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
             "Resource": "arn:aws:s3:::*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::foo",
             "NotPrincipal": {"AWS": "arn:blahblah:example"},
             "Condition": {"StringLike": {"s3:prefix": ["home/", "", "home/${aws:username}/"]}}},
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::foo/home/${aws:username}/*", "arn:aws:s3:::foo/home/${aws:username}"],
             "Principal": {"AWS": "arn:blahblah:example"}},
            {"Effect": "Deny", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::*"},
            {"Effect": "Allow", "Action": "kinesis:*", "Principal": {"AWS": "*"}},
            {"Effect": "Allow", "Action": "firehose:*", "Principal": "*"},
        ],
    },
    "condition_keys": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
             "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContext:aws:pi:service": "rds",
                                                        "kms:EncryptionContext:service": "pi"}}},
        ],
    },
    "with_source": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {"Sid": "SidToOverride", "Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::somebucket/*", "arn:aws:s3:::somebucket"]},
        ],
    },
    "with_override": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {"Sid": "SidToOverride", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        ],
    },
    "politik": {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "OverridePlaceholder", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    },
    "merged_sources": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {"Sid": "UniqueSidOne", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Sid": "UniqueSidTwo", "Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
        ],
    },
    "merged_overrides": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OverridePlaceHolderTwo", **ALLOW_ALL, "Action": "iam:*"},
            {"Sid": "OverridePlaceHolderOne", "Effect": "Deny", "Action": "logs:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        ],
    },
}  # fmt: skip


def _field_order(doc: dict) -> dict:
    """The documented field order (Sid, Effect, Action, ..., Condition), which the text must follow."""
    order = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition")
    statements = [{k: s[k] for k in order if k in s} for s in doc.get("Statement", [])]
    return {k: doc[k] for k in ("Version", "Id") if k in doc} | ({"Statement": statements} if statements else {})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from skyrelay.plan import render_program

    folder = tmp_path_factory.mktemp("policy-documents")
    (folder / "__main__.py").write_text(PROGRAM)
    return render_program(folder, {})


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_json_is_the_documented_document(rendered, name):
    exported = rendered.outputs[name]
    expected = _field_order(DOCUMENTED[name])
    assert exported["json"] == json.dumps(expected, indent=2)  # Go's MarshalIndent, byte for byte
    assert exported["minified"] == json.dumps(expected, separators=(",", ":"))
    import zlib

    assert exported["id"] == str(zlib.crc32(exported["json"].encode()))


def test_the_document_reaches_the_role_as_a_known_input(rendered):
    role = rendered.one("aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}],
    }
    assert {"token": "aws:iam/getPolicyDocument:getPolicyDocument", "answer": "computed", "count": 17} in rendered.invokes


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ('statements=[{"sid": "A", "actions": ["s3:*"]}, {"sid": "A", "actions": ["ec2:*"]}]', "duplicate Sid (A)"),
        ('version="2008-10-17", statements=[{"actions": ["s3:*"], "resources": ["arn:aws:s3:::&{aws:username}"]}]',
         "not supported in document version 2008-10-17"),
        ('statements=[{"sid": "no-dashes", "actions": ["s3:*"]}]', "alphanumeric"),
    ],
    ids=["duplicate-sid", "variable-in-2008-version", "sid-characters"],
)
def test_arguments_the_provider_rejects_fail_naming_the_invoke(tmp_path, render_program, call, reason):
    (tmp_path / "__main__.py").write_text(f"import pulumi_aws as aws\naws.iam.get_policy_document({call})\n")
    with pytest.raises(ProgramError) as err:
        render_program(tmp_path, {})
    assert err.value.kind == "program-error"
    assert err.value.invoke == "aws:iam/getPolicyDocument:getPolicyDocument"
    assert reason in err.value.message
    assert err.value.line == 2 and err.value.file.endswith("__main__.py")
