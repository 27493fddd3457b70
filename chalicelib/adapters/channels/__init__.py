"""Delivery channels, one adapter per channel (``services.ports.DeliveryChannel``)."""
