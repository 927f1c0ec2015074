"""Resolve OCI references to digests and fetch wasm layers from registries.

The stage's public face: `resolve` pins a reference to a manifest digest and finds the wasm
layer, `fetch_layer` streams it to disk verified, `push_wasm` publishes one, and
`RegistryClient` is what trust uses (through its own protocol) to read signatures.
"""

from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import (
    Credential,
    Credentials,
    credentials_from_secret_data,
    parse_dockerconfigjson,
)
from wasmgate.oci.fetch import FetchedLayer, fetch_layer
from wasmgate.oci.layout import Layout
from wasmgate.oci.manifest import Descriptor, Manifest
from wasmgate.oci.push import push_wasm
from wasmgate.oci.reference import Reference, parse_reference
from wasmgate.oci.resolve import Resolved, resolve
from wasmgate.oci.settings import RegistrySettings

__all__ = [
    "Credential",
    "Credentials",
    "Descriptor",
    "FetchedLayer",
    "Layout",
    "Manifest",
    "Reference",
    "RegistryClient",
    "RegistrySettings",
    "Resolved",
    "credentials_from_secret_data",
    "fetch_layer",
    "parse_dockerconfigjson",
    "parse_reference",
    "push_wasm",
    "resolve",
]
