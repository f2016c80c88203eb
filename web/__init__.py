"""Server-rendered pages (Jinja2 + HTMX) over the crm/ services."""

import server.ids  # noqa: F401  (the {name:id} path convertor, before any route)
