"""The REST API (``/api/``): personal tokens per user and company, every query scoped to the token's company."""
