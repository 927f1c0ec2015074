"""`wasmgate run`: start the operator (kopf) against a cluster, and its cluster I/O."""
