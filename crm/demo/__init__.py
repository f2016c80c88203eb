"""Demo data for the CRM: ``generate(engine_or_session, "small" | "city", seed)``."""

from crm.demo.generator import (
    DEMO_PASSWORD,
    SCALES,
    Scale,
    demo_login,
    fast_pinyin,
    fast_search_blob,
    generate,
)

__all__ = [
    "DEMO_PASSWORD",
    "SCALES",
    "Scale",
    "demo_login",
    "fast_pinyin",
    "fast_search_blob",
    "generate",
]
