"""The aiohttp API that enqueues journeys and reports their status (arrives with the journey API issue)."""
