"""DynamoDB adapters: PynamoDB models and the repositories built on them."""
