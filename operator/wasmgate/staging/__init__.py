"""Decide which nodes must hold which digests and aggregate what the node agents report."""
