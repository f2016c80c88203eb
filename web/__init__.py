"""Server-rendered pages (Jinja2 + HTMX) over the crm/ services."""
