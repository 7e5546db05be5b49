"""The hub's web routes, one module per concern."""
