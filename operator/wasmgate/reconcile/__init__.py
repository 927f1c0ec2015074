"""The WasmPlugin pipeline without kopf: which stage runs next and what status it leaves.

`pipeline.run_pipeline` is pure apart from the stage functions it is given, so the decisions
(skip what is settled, retry what is temporary, stop at what is permanent) are tested without a
cluster; `stages` builds the real resolve, verify and validate stages on the oci, trust and
validate packages.
"""
