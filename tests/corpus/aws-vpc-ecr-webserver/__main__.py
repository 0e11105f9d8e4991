"""A VPC with two public subnets, an ECR repository and a web server (written for skyrelay's corpus)."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
vpc_cidr = config.get("vpcCidr") or "10.0.0.0/16"
subnet_cidrs = [config.get("subnet1Cidr") or "10.0.0.0/24", config.get("subnet2Cidr") or "10.0.1.0/24"]
name = f"{pulumi.get_project()}-{pulumi.get_stack()}"

region = aws.get_region()
zones = [f"{region.name}a", f"{region.name}b"]
partition = aws.get_partition()
caller = aws.get_caller_identity_output()

repository = aws.ecr.Repository("images", name=name, force_delete=True, image_tag_mutability="IMMUTABLE")
aws.ecr.LifecyclePolicy(
    "images-expiry",
    repository=repository.name,
    policy=json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "keep the last 10 images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
                    "action": {"type": "expire"},
                }
            ]
        }
    ),
)
token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)

vpc = aws.ec2.Vpc("vpc", cidr_block=vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True, tags={"Name": name})
gateway = aws.ec2.InternetGateway("gateway", vpc_id=vpc.id, tags={"Name": name})
routes = aws.ec2.RouteTable("public", vpc_id=vpc.id, tags={"Name": name})
aws.ec2.Route("default-route", route_table_id=routes.id, destination_cidr_block="0.0.0.0/0", gateway_id=gateway.id)
subnets = []
for index, (zone, cidr) in enumerate(zip(zones, subnet_cidrs, strict=True), start=1):
    subnet = aws.ec2.Subnet(
        f"public-{index}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=zone, map_public_ip_on_launch=True,
        tags={"Name": f"{name}-{index}"},
    )
    aws.ec2.RouteTableAssociation(f"public-{index}", subnet_id=subnet.id, route_table_id=routes.id)
    subnets.append(subnet)

web = aws.ec2.SecurityGroup(
    "web",
    vpc_id=vpc.id,
    description="HTTP in, anything out",
    ingress=[{"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]}],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
)
ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}])
server = aws.ec2.Instance(
    "web-server",
    instance_type="t3.micro",
    ami=ami.id,
    subnet_id=subnets[0].id,
    vpc_security_group_ids=[web.id],
    user_data="#!/bin/bash\necho hello > index.html\nnohup python3 -m http.server 80 &\n",
    tags={"Name": f"{name}-web"},
)

pulumi.export("zones", zones)
pulumi.export("repository_arn", pulumi.Output.format("arn:{0}:ecr:{1}:{2}:repository/{3}",
                                                     partition.partition, region.name, caller.account_id, name))
pulumi.export("registry_user", token.user_name)
pulumi.export("public_ip", server.public_ip)
