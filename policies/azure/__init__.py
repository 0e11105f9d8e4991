"""Azure rules: Service Bus, Cosmos DB, Function Apps. Imports nothing from the other clouds."""

from skyrelay.policies.azure import cosmos, functions, servicebus

POLICIES = [*servicebus.POLICIES, *cosmos.POLICIES, *functions.POLICIES]
