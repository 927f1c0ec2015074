"""Resolve OCI references to digests and fetch wasm layers from registries."""
