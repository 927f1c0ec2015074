"""Writing the webhook's PEM files so a private key is never readable by anyone else, not even
for a moment.

Writing a file and chmod'ing it afterwards leaves a window in which the key is readable under the
process umask, and a fixed temporary name (`tls.key.tmp`) lets whoever can write the directory
plant a symlink or a file of their own there first. Here every file is born in a fresh private
directory (mkdtemp: 0700, unpredictable name) inside the target directory, created exclusively
(`O_CREAT | O_EXCL | O_NOFOLLOW`) with its final mode passed to open(2), so the umask can only
narrow it; it is fsync'ed and renamed over the final name, which replaces the file atomically
(readers, kopf's certificate reload among them, see the old file or the new one, whole).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
PRIVATE_DIRECTORY_MODE = 0o700
STAGING_PREFIX = ".staging-"
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def make_private_directory(directory: Path) -> None:
    """Create `directory` (and its parents) as 0700 when it does not exist yet.

    An existing directory is left as it is: a mounted volume (an emptyDir is 0777 and owned by
    root) cannot be chmod'ed by a non-root operator, and the files in it are protected by their
    own mode.
    """
    directory.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)


def write_atomically(path: Path, data: bytes, *, private: bool) -> None:
    """Replace `path` with `data`: mode 0600 when `private`, else 0644, from the first byte."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=path.parent))
    staged = staging / path.name
    try:
        descriptor = os.open(staged, CREATE_FLAGS, PRIVATE_MODE if private else PUBLIC_MODE)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        staged.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        staging.rmdir()
