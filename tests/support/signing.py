"""Sign test plugins with the real cosign CLI, offline (no transparency log, no TUF)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from support.registries import LocalRegistry
from wasmgate.trust import TrustedKey, load_public_key

LEGACY = "legacy"
BUNDLE = "bundle"
# A signing config naming no transparency log or timestamp authority: cosign signs offline.
OFFLINE_SIGNING_CONFIG = {
    "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
    "rekorTlogConfig": {},
    "tsaConfig": {},
}


@dataclass(frozen=True)
class SigningKey:
    """A cosign key pair on disk."""

    name: str
    private: Path
    public: Path

    def trusted(self) -> TrustedKey:
        return load_public_key(self.public.read_bytes(), f"{self.name}.pub")


def _env(workdir: Path, registry: LocalRegistry | None = None) -> dict[str, str]:
    env = {**os.environ, "COSIGN_PASSWORD": "", "HOME": str(workdir), "TUF_ROOT": str(workdir)}
    if registry is not None and registry.username:
        config_dir = workdir / f"docker-{registry.name}"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "config.json").write_bytes(registry.dockerconfig())
        env["DOCKER_CONFIG"] = str(config_dir)
    return env


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stderr}"
    return done.stdout


def make_key(cosign: Path, kind: str, workdir: Path) -> SigningKey:
    """A cosign key pair: `p256` from `cosign generate-key-pair`, others imported from PEM."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = _env(workdir)
    if kind == "p256":
        _run([str(cosign), "generate-key-pair"], env, workdir)
        return SigningKey(kind, workdir / "cosign.key", workdir / "cosign.pub")
    private = {
        "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "rsa": lambda: rsa.generate_private_key(65537, 3072),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
    }[kind]()
    pem = workdir / f"{kind}.pem"
    pem.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    _run(
        [str(cosign), "import-key-pair", "--key", str(pem), "--output-key-prefix", kind, "-y"],
        env,
        workdir,
    )
    return SigningKey(kind, workdir / f"{kind}.key", workdir / f"{kind}.pub")


def cosign_sign(
    cosign: Path,
    registry: LocalRegistry,
    image: str,
    key: SigningKey,
    fmt: str,
    workdir: Path,
    bundle_out: Path | None = None,
) -> None:
    """`cosign sign --key` in the legacy (.sig tag) or the bundle (referrer) format."""
    argv = [str(cosign), "sign", "--key", str(key.private), "--yes", "--allow-http-registry"]
    if fmt == LEGACY:
        argv += ["--new-bundle-format=false", "--use-signing-config=false", "--tlog-upload=false"]
    else:
        config = workdir / "offline-signing-config.json"
        config.write_text(json.dumps(OFFLINE_SIGNING_CONFIG))
        argv += ["--signing-config", str(config)]
        if bundle_out is not None:
            argv += ["--bundle", str(bundle_out)]
    _run([*argv, image], _env(workdir, registry), workdir)


def push_signed(
    cosign: Path, registry: LocalRegistry, module: Path, image: str, key: SigningKey, workdir: Path
) -> str:
    """`wasmgate push --plain-http` the module to `image` (a tag reference), sign the pushed
    digest with cosign (bundle format); returns the image by digest."""
    pushed = subprocess.run(
        [sys.executable, "-m", "wasmgate", "push", "--plain-http", str(module), image],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    by_digest = f"{image.rsplit(':', 1)[0]}@{pushed.stdout.strip()}"
    cosign_sign(cosign, registry, by_digest, key, BUNDLE, workdir)
    return by_digest
