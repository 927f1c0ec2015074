"""The node agent: stage verified blobs into the node store and report per digest."""
