"""AWS: SigV4 (`sigv4`), credentials from the environment or botocore's chain (`credentials`), the
small JSON-protocol client for DynamoDB/SQS/Secrets Manager (`json_client`), the adapter base the
DynamoDB store, SQS queue and DynamoDB limiter share (`adapter`), and error codes (`errors`)."""
