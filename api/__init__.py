"""The JSON API under /api/v1, over the crm/ services."""
