"""Demo data for the CRM: ``generate(engine_or_session, "small" | "city", seed)``."""

from crm.demo.generator import demo_login, generate
from crm.demo.password import DEMO_PASSWORD
from crm.demo.run import SCALES, Scale

__all__ = [
    "DEMO_PASSWORD",
    "SCALES",
    "Scale",
    "demo_login",
    "generate",
]
