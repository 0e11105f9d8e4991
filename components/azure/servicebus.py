"""The Service Bus half of AsyncJobs: one namespace (Standard, or Premium as a knob; SAS keys off,
TLS 1.2) and one queue per priority. Each queue dead-letters after `max_receive_count` deliveries (the
shared default: the worker's attempts) and on expiry, and its lock is the one
`deployment.servicebus_lock` derives from the worker timeout, with the host renewing it up to the
rule's `maxAutoLockRenewalDuration` (host.json and the app settings carry that half)."""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.errors import ConfigError

SKUS = ("Standard", "Premium")  # Basic has no topics, scheduled messages' peers or dead-letter forwarding


@dataclass
class ServiceBus:
    namespace: azure_native.servicebus.Namespace
    queues: dict[str, azure_native.servicebus.Queue]  # priority -> queue
    fqdn: pulumi.Output[str]  # <namespace>.servicebus.windows.net


def iso_seconds(seconds: int) -> str:
    """An ISO 8601 duration (what Service Bus takes): PT1M, PT2M30S."""
    minutes, secs = divmod(int(seconds), 60)
    return "PT" + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs or not minutes else "")


def check_sku(key: str, sku: Any) -> str:
    if sku not in SKUS:
        raise ConfigError(key, f"must be one of {', '.join(SKUS)}, got {sku!r}")
    return sku


def service_bus(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], location: str,
                settings: dict[str, Any], lock: dict) -> ServiceBus:
    sku = check_sku("AsyncJobs.overrides.servicebus_sku", settings["servicebus_sku"])
    child = pulumi.ResourceOptions(parent=owner)
    namespace = azure_native.servicebus.Namespace(
        f"{name}-bus",
        resource_group_name=resource_group,
        location=location,
        sku=azure_native.servicebus.SBSkuArgs(
            name=sku, tier=sku, capacity=settings["servicebus_premium_capacity"] if sku == "Premium" else None
        ),
        disable_local_auth=not settings["servicebus_local_auth"],
        minimum_tls_version=settings["servicebus_min_tls"],
        public_network_access=settings["servicebus_public_network_access"],
        opts=child,
    )
    queues = {
        priority: azure_native.servicebus.Queue(
            f"{name}-{priority}",
            resource_group_name=resource_group,
            namespace_name=namespace.name,
            queue_name=f"jobs-{priority}",
            lock_duration=iso_seconds(lock["lock_duration_s"]),
            max_delivery_count=settings["max_receive_count"],
            dead_lettering_on_message_expiration=settings["queue_dead_letter_on_expiration"],
            default_message_time_to_live=settings["queue_ttl"],
            max_size_in_megabytes=settings["queue_max_size_mb"],
            enable_batched_operations=True,
            requires_session=False,
            opts=child,
        )
        for priority in contract.PRIORITIES
    }
    fqdn = namespace.name.apply(lambda n: f"{n}.servicebus.windows.net")
    return ServiceBus(namespace, queues, fqdn)
