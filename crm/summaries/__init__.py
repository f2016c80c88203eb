"""Per-officer-per-week rollups that heal themselves (see ``crm.summaries.fill``)."""
