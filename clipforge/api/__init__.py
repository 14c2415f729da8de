"""The HTTP API (REST under /api, WebSocket /ws) over the orchestrator."""
