"""wasmgate: distribute, verify and roll out WebAssembly plugins for the kube-scheduler."""

__version__ = "0.1.0"
