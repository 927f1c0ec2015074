"""Build and push test plugins in every accepted layout, with the real tools authors use."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

from support.registries import LocalRegistry
from wasmgate.oci import RegistrySettings, parse_dockerconfigjson, push_wasm
from wasmgate.oci.credentials import Credentials

# The smallest valid core module plus a custom section, so each test's bytes differ.
WASM_HEADER = b"\0asm\x01\0\0\0"
ORAS_MEDIA_TYPES = (
    "application/wasm",
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.module.wasm.content.layer.v1+wasm",
)


def wasm_bytes(label: str, padding: int = 0) -> bytes:
    """A valid module whose custom section `label` makes its digest unique."""
    name = label.encode()
    payload = bytes([len(name)]) + name + b"\0" * padding
    size = len(payload)
    leb = bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        leb.append(byte | (0x80 if size else 0))
        if not size:
            break
    return WASM_HEADER + b"\0" + bytes(leb) + payload


def settings_for(registry: LocalRegistry, **overrides: object) -> RegistrySettings:
    """Settings that reach this registry (plain HTTP unless it is the TLS one)."""
    plain = frozenset() if registry.scheme == "https" else frozenset({registry.host})
    return RegistrySettings(plain_http=plain, **overrides)  # type: ignore[arg-type]


def credentials_for(registry: LocalRegistry) -> Credentials | None:
    """The registry's credentials as a pull secret would give them."""
    return parse_dockerconfigjson(registry.dockerconfig()) if registry.username else None


def run_oras(binary: Path, registry: LocalRegistry, *args: str, cwd: Path) -> str:
    """Run the oras CLI against a registry, with its login when it has one."""
    plain = ["--from-plain-http", "--to-plain-http"] if args[0] == "cp" else ["--plain-http"]
    argv = [str(binary), *args, *plain]
    if registry.username:
        argv += ["-u", registry.username, "-p", registry.password or ""]
    env = {**os.environ, "HOME": str(cwd)}
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, f"oras {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def push_cncf(registry: LocalRegistry, ref: str, data: bytes, workdir: Path) -> str:
    """Layout 1, through wasmgate's own push."""
    path = workdir / "plugin.wasm"
    path.write_bytes(data)
    return push_wasm(path, ref, settings_for(registry), credentials_for(registry))


def push_oras(
    binary: Path, registry: LocalRegistry, ref: str, data: bytes, media_type: str, workdir: Path
) -> str:
    """Layout 2: one wasm layer pushed with `oras push`; returns the manifest digest."""
    (workdir / "plugin.wasm").write_bytes(data)
    run_oras(binary, registry, "push", ref, f"plugin.wasm:{media_type}", cwd=workdir)
    return manifest_digest(binary, registry, ref, workdir)


def compat_layer(data: bytes, member: str = "plugin.wasm", gzip: bool = True) -> bytes:
    """A tar(.gz) layer with `member` holding the module, after some other file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w") as archive:
        for name, content in (("README", b"not the plugin\n"), (member, data)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def push_compat(
    binary: Path, registry: LocalRegistry, ref: str, data: bytes, workdir: Path, **layer: object
) -> str:
    """Layout 3: an OCI image whose last layer is a tar.gz with plugin.wasm."""
    (workdir / "layer.tar.gz").write_bytes(compat_layer(data, **layer))  # type: ignore[arg-type]
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}
    (workdir / "config.json").write_text(json.dumps(config))
    run_oras(
        binary,
        registry,
        "push",
        ref,
        "--config",
        "config.json:application/vnd.oci.image.config.v1+json",
        "layer.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip",
        cwd=workdir,
    )
    return manifest_digest(binary, registry, ref, workdir)


def manifest_digest(binary: Path, registry: LocalRegistry, ref: str, workdir: Path) -> str:
    """The digest a tag points to, as oras sees it."""
    return run_oras(binary, registry, "resolve", ref, cwd=workdir).strip()


def push_layout(
    layout: str, oras: Path, registry: LocalRegistry, ref: str, data: bytes, workdir: Path
) -> str:
    """Push `data` in one layout: "cncf" (wasmgate's push), "oras:<media type>" (`oras push`)
    or "compat" (an image with plugin.wasm in a tar.gz layer); the manifest digest."""
    if layout == "cncf":
        return push_cncf(registry, ref, data, workdir)
    if layout == "compat":
        return push_compat(oras, registry, ref, data, workdir)
    kind, _, media_type = layout.partition(":")
    assert kind == "oras" and media_type in ORAS_MEDIA_TYPES, f"unknown layout {layout!r}"
    return push_oras(oras, registry, ref, data, media_type, workdir)
