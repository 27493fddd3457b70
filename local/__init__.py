"""The local stack: moto server as AWS, the API, the event pump, the phone sink, demo data."""
