"""Routers split by audience: police, public, operator, api."""
