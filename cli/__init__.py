"""The ``crm`` command: a composition root beside ``server/``, ``jobs/`` and ``bench/``.

It wires the domain (``crm/``) to the terminal; nothing in ``crm/`` imports it.
"""
