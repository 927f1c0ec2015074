"""Check a wasm module against the scheduler ABI and dry-run it under limits."""
