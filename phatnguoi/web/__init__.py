"""The web application: ``create_app`` composes the routers split by audience."""

from phatnguoi.web.app import create_app

__all__ = ["create_app"]
