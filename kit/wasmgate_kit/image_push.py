"""Put an image the kit built into one of the kit's registries, as a user's CI pushes an image.

The real node pulls what it runs from the kit's registries (kit/real_node.py maps them into its
namespace), so an image built here (kit/debian_image.py) takes the path a user's image takes:
pushed to a registry, pulled by containerd. skopeo (Debian) copies the docker archive over plain
HTTP on loopback; credentials go through a 0600 auth file, never the command line. The kit
writes two archive formats (docker archives from buildah, OCI layout tars from kit/images.py);
skopeo needs to be told which, so the archive's own files say it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from wasmgate_kit.errors import KitError
from wasmgate_kit.registries import Registry

PUSH_TIMEOUT = 300


def archive_transport(archive: Path) -> str:
    """skopeo's transport for `archive`: an OCI layout tar has an `oci-layout` file at its top."""
    with tarfile.open(archive) as tar:
        names = {name.removeprefix("./") for name in tar.getnames()}
    if "oci-layout" in names:
        return "oci-archive"
    if "manifest.json" in names:
        return "docker-archive"
    raise KitError(f"{archive} is neither an OCI layout nor a docker archive")


def push_archive(archive: Path, registry: Registry, repository: str, tag: str) -> str:
    """Copy a docker or OCI archive to `registry` as `repository:tag`; returns the reference."""
    if shutil.which("skopeo") is None:
        raise KitError("pushing kit images needs skopeo; install it (`make apt`)")
    reference = f"{registry.host}/{repository}:{tag}"
    with tempfile.TemporaryDirectory(prefix="wasmgate-push-") as scratch:
        auth = Path(scratch) / "auth.json"
        entries = {}
        if registry.username and registry.password:
            token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
            entries[registry.host] = {"auth": token}
        auth.touch(mode=0o600)
        auth.write_text(json.dumps({"auths": entries}))
        argv = [
            "skopeo", "copy", "--insecure-policy", "--quiet", "--dest-tls-verify=false",
            f"--dest-authfile={auth}", f"{archive_transport(archive)}:{archive}",
            f"docker://{reference}",
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, timeout=PUSH_TIMEOUT)
    if result.returncode != 0:
        raise KitError(f"pushing {archive.name} to {reference} failed: {result.stderr.strip()}")
    return reference
