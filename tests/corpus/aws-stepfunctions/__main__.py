"""A state machine with one Lambda task (written for skyrelay's corpus)."""

import json

import pulumi
import pulumi_aws as aws
import roles

task = aws.lambda_.Function(
    "hello-task",
    role=roles.function_role.arn,
    runtime="python3.12",
    handler="hello.handler",
    code=pulumi.AssetArchive({".": pulumi.FileArchive("./step")}),
)


def definition(task_arn: str) -> str:
    return json.dumps(
        {
            "Comment": "Calls one Lambda function",
            "StartAt": "Hello",
            "States": {"Hello": {"Type": "Task", "Resource": task_arn, "End": True}},
        }
    )


machine = aws.sfn.StateMachine("machine", role_arn=roles.machine_role.arn, definition=task.arn.apply(definition))

pulumi.export("state_machine_arn", machine.id)
