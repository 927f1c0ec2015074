"""Air-gap transfer: plugins with their signatures and trusted root into one file, and back.

`wasmgate save` reads artifacts from a registry the way the operator does (resolve, digest-checked
blobs, signature discovery) and writes an OCI image-layout tar; `wasmgate load` pushes that tar
into an internal registry so the operator there finds the same digests and signatures. It joins
the oci and trust stages, so it lives beside them, not in either.
"""
