"""Private keys are 0600 from their first byte, even under a permissive umask.

Every file-system call the code under test makes is observed: Python's audit hooks report each
open (by `open()`, `Path.write_bytes()` or `os.open()`) with its flags and each chmod, and
`os.open` is wrapped to see the mode it was given, the mode the new file has right after the
call, and the directory it was born in. So a write-then-chmod, a predictable temporary name or a
key created in a shared directory fails these tests, not only a wrong final mode.
"""

from __future__ import annotations

import base64
import datetime
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from kubernetes import client

from wasmgate_admission import key_files, shared_ca
from wasmgate_admission.certificates import CA_VALIDITY, ensure_certificates
from wasmgate_admission.settings import NamespacedName

HOSTS = ("127.0.0.1", "wasmgate-webhook.wasmgate-system.svc")
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
KEY_MARKER = b"PRIVATE KEY"
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@dataclass
class Created:
    """One os.open() that created a file: what it asked for and what the file was at once."""

    path: Path
    flags: int
    mode: int | None
    mode_at_open: int
    directory_mode: int


@dataclass
class Observed:
    """Every open, chmod, exclusive create and rename under `root` while recording."""

    root: Path
    opens: list[tuple[Path, int]] = field(default_factory=list)
    chmods: list[str] = field(default_factory=list)
    created: list[Created] = field(default_factory=list)
    renames: dict[Path, Path] = field(default_factory=dict)

    def under_root(self, path: Any) -> Path | None:
        if isinstance(path, (str, bytes, os.PathLike)):
            resolved = Path(os.fsdecode(path)).resolve()
            if resolved.is_relative_to(self.root):
                return resolved
        return None


_recording: list[Observed] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _recording:
        return
    observed = _recording[-1]
    if event == "open":
        path = observed.under_root(args[0])
        if path is not None:
            observed.opens.append((path, int(args[2])))
    elif event == "os.chmod":
        # Path.chmod, os.chmod and os.fchmod (by descriptor) all raise this event.
        observed.chmods.append(repr(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only inside `recording`


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Observed]:
    """A umask of 0 (a permissive one) and every file-system call under tmp_path observed."""
    observed = Observed(tmp_path.resolve())
    real_open, real_replace = os.open, os.replace

    def observing_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kw: Any) -> int:
        descriptor = real_open(path, flags, mode, *args, **kw)
        where = observed.under_root(path)
        if where is not None and flags & os.O_CREAT:
            observed.created.append(
                Created(
                    where,
                    flags,
                    mode,
                    stat.S_IMODE(os.fstat(descriptor).st_mode),
                    stat.S_IMODE(where.parent.stat().st_mode),
                )
            )
        return descriptor

    def observing_replace(source: Any, target: Any, *args: Any, **kw: Any) -> None:
        real_replace(source, target, *args, **kw)
        source_path, target_path = observed.under_root(source), observed.under_root(target)
        if source_path is not None and target_path is not None:
            observed.renames[target_path] = source_path

    monkeypatch.setattr(os, "open", observing_open)
    monkeypatch.setattr(os, "replace", observing_replace)
    previous = os.umask(0)
    _recording.append(observed)
    try:
        yield observed
    finally:
        _recording.pop()
        os.umask(previous)


def _key_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and KEY_MARKER in p.read_bytes())


def _assert_private_from_the_first_byte(observed: Observed, expected: set[str]) -> None:
    keys = _key_files(observed.root)
    assert {p.name for p in keys} == expected
    assert observed.chmods == [], "a key file was chmod'ed after it was written"
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        # 1. The key reached its name by an atomic rename of a file created for it alone...
        staged = observed.renames.get(key)
        assert staged is not None, f"{key.name} was written in place, not renamed into place"
        [created] = [c for c in observed.created if c.path == staged]
        # 2. ...exclusively, never through a symlink, with the mode given to open(2)...
        must = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        assert created.flags & must == must, f"{staged}: flags {created.flags:#o}"
        assert created.mode == 0o600
        assert created.mode_at_open == 0o600, "the file was wider than 0600 when it was born"
        # 3. ...in a private directory of its own with an unpredictable name.
        assert created.directory_mode == 0o700
        assert staged.parent != key.parent
        assert staged.parent.name.startswith(key_files.STAGING_PREFIX)
        assert len(staged.parent.name) > len(key_files.STAGING_PREFIX) + 4
    # Nothing else opened any file for writing: no `tls.key.tmp`, no write-then-chmod.
    written = [(p, flags) for p, flags in observed.opens if flags & WRITE_FLAGS]
    strays = [p for p, flags in written if not flags & os.O_EXCL]
    assert strays == [], f"opened for writing without O_EXCL: {strays}"
    assert [p for p in observed.root.rglob(f"{key_files.STAGING_PREFIX}*")] == []


def test_new_certificates_create_private_keys_private(recording: Observed) -> None:
    directory = recording.root / "certs"
    certs = ensure_certificates(directory, HOSTS, NOW)
    _assert_private_from_the_first_byte(recording, {"ca-key.pem", "tls.key"})
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(certs.ca.stat().st_mode) == 0o644
    assert stat.S_IMODE(certs.cert.stat().st_mode) == 0o644


def test_rotation_replaces_keys_the_same_way(recording: Observed) -> None:
    directory = recording.root / "certs"
    ensure_certificates(directory, HOSTS, NOW)
    before = (directory / "tls.key").read_bytes()
    recording.opens.clear()
    recording.created.clear()
    recording.renames.clear()
    rotated = ensure_certificates(directory, HOSTS, NOW + CA_VALIDITY)
    assert (rotated.ca_changed, rotated.cert_changed) == (True, True)
    assert (directory / "tls.key").read_bytes() != before
    _assert_private_from_the_first_byte(recording, {"ca-key.pem", "tls.key"})


def test_an_adopted_shared_ca_key_is_private(
    recording: Observed, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = recording.root / "elsewhere"
    os.umask(0o077)
    ensure_certificates(source, HOSTS, NOW)
    os.umask(0)
    data = {n: base64.b64encode((source / n).read_bytes()).decode() for n in shared_ca.CA_FILES}
    secret = SimpleNamespace(data=data, metadata=SimpleNamespace(resource_version="7"))

    class Core:
        def __init__(self, api: object) -> None:
            pass

        def read_namespaced_secret(self, name: str, namespace: str, **_: Any) -> object:
            return secret

    monkeypatch.setattr(client, "CoreV1Api", Core)
    for path in source.iterdir():
        path.unlink()
    source.rmdir()
    recording.opens.clear()
    recording.created.clear()
    recording.renames.clear()

    api = cast(client.ApiClient, object())
    fetched = shared_ca.fetch(api, NamespacedName("wasmgate-system", "ca"), recording.root)
    assert fetched.complete
    _assert_private_from_the_first_byte(recording, {"ca-key.pem"})


def test_a_planted_temporary_name_is_not_followed(recording: Observed) -> None:
    """The old writer used `tls.key.tmp`: whoever could write the directory could point it at
    a file of their own and receive the key."""
    directory = recording.root / "certs"
    directory.mkdir()
    outside = recording.root / "attacker-owned"
    for name in ("tls.key", "ca-key.pem"):
        (directory / f"{name}.tmp").symlink_to(outside)
    ensure_certificates(directory, HOSTS, NOW)
    assert not outside.exists()
    assert stat.S_IMODE((directory / "tls.key").stat().st_mode) == 0o600


def test_a_failed_write_leaves_neither_a_partial_key_nor_its_staging_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "tls.key"
    target.write_bytes(b"old key")

    def full_disk(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        key_files.write_atomically(target, b"-----BEGIN PRIVATE KEY-----", private=True)
    assert target.read_bytes() == b"old key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tls.key"]
