"""Azure rules: Service Bus, Cosmos DB, Function Apps, Key Vault, storage, API Management. Imports
nothing from the other clouds."""

from skyrelay.policies.azure import apim, cosmos, functions, keyvault, servicebus, servicebus_lock, storage

POLICIES = [*servicebus.POLICIES, *cosmos.POLICIES, *functions.POLICIES, *keyvault.POLICIES, *storage.POLICIES,
            *apim.POLICIES, *servicebus_lock.POLICIES]
