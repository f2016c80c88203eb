"""The one password of every demo user (README, ``crm demo``/``crm start``, the benchmark)."""

DEMO_PASSWORD = "Demo-2011-35!"
