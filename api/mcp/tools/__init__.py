"""The four MCP tools, one module each; every handler calls the service code the HTTP API calls."""
