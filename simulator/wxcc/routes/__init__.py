"""HTTP handlers of the simulator, one module per API (OAuth, tasks, search, captures, recordings, control)."""
