"""The JSON API under /api/v1, over the crm/ services."""

import server.ids  # noqa: F401  (the {name:id} path convertor, before any route)
