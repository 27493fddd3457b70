"""All I/O: DynamoDB, SQS, SNS and the platform APIs."""
