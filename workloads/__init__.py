"""The reference guests' sources and their Python side (input generators, the Python reference
of event-transform, the collector's batch decoder), importable from the repository root."""
