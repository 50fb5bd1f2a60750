"""The HTTP API (FastAPI): REST, WebSocket live push, login, pages."""

from vigil.api.app import Settings, create_app

__all__ = ["Settings", "create_app"]
