"""``uvicorn server.asgi:app`` (no scheduler; ``crm serve`` starts one)."""

from server.app import create_app

app = create_app()
