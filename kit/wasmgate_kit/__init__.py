"""The local kit: real Kubernetes, registries and signers built from source, run on loopback."""
