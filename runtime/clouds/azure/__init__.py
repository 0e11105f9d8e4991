"""Azure: Entra ID tokens through azure-identity (`entra`), for Azure OpenAI, Cosmos DB and Service Bus."""
