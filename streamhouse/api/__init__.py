"""The REST API on the HTTP side port (DESIGN.md §11): FastAPI, served by uvicorn in the agent's loop."""
