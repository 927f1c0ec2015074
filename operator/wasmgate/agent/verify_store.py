"""Re-hash every store file a scheduler configuration loads, right before the scheduler starts.

The agent verified the bytes when it pulled them, but the scheduler reads them later, maybe
after a node restart, a disk error or someone with access to the host path. The scheduler
pod's init container runs this check so the scheduler never loads bytes that differ from the
digest that was verified: the file name is the digest, so the check needs nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from wasmgate.agent.store import ALGORITHM, file_digest, is_blob_name
from wasmgate.errors import WasmgateError


class StoreFileMissing(WasmgateError):
    """A guestURL names a store file that does not exist."""

    reason = "StoreFileMissing"


class StoreFileTampered(WasmgateError):
    """A store file's bytes do not hash to its name, or it is not a store file at all."""

    reason = "StoreFileTampered"
    permanent = True


class ConfigInvalid(WasmgateError):
    """The scheduler configuration cannot be read."""

    reason = "ConfigInvalid"
    permanent = True


@dataclass(frozen=True)
class GuestFile:
    """One file:// guest and where it was named."""

    where: str
    path: PurePosixPath


def guest_files(document: Mapping[str, Any]) -> Iterator[GuestFile]:
    """Every file:// guestURL in a KubeSchedulerConfiguration, in order."""
    for p, profile in enumerate(document.get("profiles") or []):
        for c, plugin_config in enumerate(profile.get("pluginConfig") or []):
            args = plugin_config.get("args") or {}
            url = args.get("guestURL") if isinstance(args, dict) else None
            if not isinstance(url, str):
                continue
            parsed = urlparse(url)
            if parsed.scheme == "file":
                where = f"profiles[{p}].pluginConfig[{c}] ({plugin_config.get('name')})"
                yield GuestFile(where, PurePosixPath(unquote(parsed.path)))


def load_config(path: Path) -> Mapping[str, Any]:
    """The configuration file as a mapping."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigInvalid(f"{path}: cannot read the scheduler configuration ({e})") from e
    if not isinstance(document, dict) or document.get("kind") != "KubeSchedulerConfiguration":
        raise ConfigInvalid(f"{path}: not a KubeSchedulerConfiguration")
    return document


def verify_guest(guest: GuestFile, root: Path) -> Path:
    """Raise unless the file exists and its bytes hash to its name; return its local path."""
    name = guest.path.name
    if guest.path.parent.name != ALGORITHM or not is_blob_name(name):
        raise StoreFileTampered(
            f"{guest.where}: {guest.path} is not a store path (…/{ALGORITHM}/<64 hex>); only "
            "content-addressed files can be verified"
        )
    local = root / guest.path.relative_to("/") if guest.path.is_absolute() else root / guest.path
    if not local.is_file():
        raise StoreFileMissing(
            f"{guest.where}: {local} is missing; the node agent has not staged it"
        )
    actual = file_digest(local)
    if actual != f"{ALGORITHM}:{name}":
        raise StoreFileTampered(
            f"{guest.where}: {local} hashes to {actual}, not its name; the file was changed "
            "after it was staged (the node agent removes it and pulls it again at its next resync)"
        )
    return local


def verify_config(config: Path, root: Path) -> list[Path]:
    """Verify every file guest of the configuration; return the verified paths."""
    return [verify_guest(guest, root) for guest in guest_files(load_config(config))]
