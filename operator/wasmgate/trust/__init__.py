"""Verify signatures of resolved digests against plugin and cluster trust policies."""
