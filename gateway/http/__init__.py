"""The aiohttp edge: tus at /files/, REST at /v1/, health and metrics."""
