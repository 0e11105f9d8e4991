"""A VM web server with a static IP on its own network (written for skyrelay's corpus)."""

import pulumi
import pulumi_gcp as gcp

project = gcp.organizations.get_project()
client = gcp.organizations.get_client_config()
labels = {"cost-center": "cc-web", "environment": pulumi.get_stack(), "team": "web", "project": project.project_id}

network = gcp.compute.Network("web-net", auto_create_subnetworks=True)
firewall = gcp.compute.Firewall(
    "web-ingress",
    network=network.self_link,
    allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=["22", "80"])],
    source_ranges=["0.0.0.0/0"],
)
address = gcp.compute.Address("web-ip", labels=labels)
server = gcp.compute.Instance(
    "web",
    machine_type="e2-micro",
    zone=client.zone or "europe-west1-b",
    labels=labels,
    metadata_startup_script="#!/bin/bash\necho hello > index.html\nnohup python3 -m http.server 80 &\n",
    boot_disk=gcp.compute.InstanceBootDiskArgs(
        initialize_params=gcp.compute.InstanceBootDiskInitializeParamsArgs(image="debian-cloud/debian-12")
    ),
    network_interfaces=[
        gcp.compute.InstanceNetworkInterfaceArgs(
            network=network.id,
            access_configs=[gcp.compute.InstanceNetworkInterfaceAccessConfigArgs(nat_ip=address.address)],
        )
    ],
    service_account=gcp.compute.InstanceServiceAccountArgs(scopes=["cloud-platform"]),
    opts=pulumi.ResourceOptions(depends_on=[firewall]),
)

pulumi.export("instance", server.name)
pulumi.export("ip", address.address)
pulumi.export("console", f"https://console.cloud.google.com/compute/instances?project={project.project_id}")
