"""The ASGI application: wires ``api/`` and ``web/`` onto the ``crm/`` services."""
