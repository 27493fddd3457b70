"""Chalice blueprints for the REST API."""
