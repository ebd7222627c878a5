"""The legacy monolith: every domain in one deployment (port 8080)."""
