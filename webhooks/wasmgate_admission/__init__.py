"""Admission for wasmgate.dev objects: the validating webhook served by the operator."""
