"""The MCP server for AI agents: four tools over the same service code as the HTTP API, on stdio or streamable HTTP.

Never name a top-level package `mcp`: it would shadow the SDK. Modules: `models` (tool names, inputs, outputs),
`registry` (a pydantic input model → an SDK tool), `access` (API keys and scopes), `services` (logic the routes keep
inline), `tools/*` (one module per tool), `server` (the MCPServer), `transports` (stdio, HTTP).
"""
