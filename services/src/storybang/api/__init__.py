"""The HTTP edge: the application factory, shared dependencies, health and metrics."""
