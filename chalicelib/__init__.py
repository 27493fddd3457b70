"""Tvarit: everything that ships to Lambda lives under this package."""
