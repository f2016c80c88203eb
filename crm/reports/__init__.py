"""The managers' reports (SPEC §5): one module per report, one service for web, API and Excel."""
