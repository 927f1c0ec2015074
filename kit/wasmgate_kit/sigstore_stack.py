"""A private sigstore instance on loopback, so keyless signing is tested on real signatures.

What a sigstore-python verifier demands of a keyless bundle decides what runs here (see
docs/signatures.md, "Keyless"): a Fulcio certificate chain, an SCT from a CT log in the trusted
root, and a Rekor v1 entry with inclusion proof and signed entry timestamp (the time source). So:

    MariaDB (Debian) <- Trillian log server + signer -- two trees: Rekor's and the CT log's
    Rekor v1 (rekor-server, file signer)         CT log (certificate-transparency-go ctfe)
    Fulcio (file CA)  -> CT log (SCTs)           OIDC issuer (wasmgate_kit.oidc_issuer)

Every key is generated here and written to the state directory, so `trusted_root.json` and
`signing_config.json` are written before anything signs. Nothing is started unless asked for
(`start_sigstore`), so tests that do not sign keylessly do not pay for it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wasmgate_kit import mariadb, oidc_issuer, sigstore_root
from wasmgate_kit.errors import KitError
from wasmgate_kit.net import LOOPBACK, free_port, http_status
from wasmgate_kit.paths import repo_root
from wasmgate_kit.pki import CA_KEY_USAGE
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

START_TIMEOUT = 60.0
ISSUERS = ("issuer-a", "issuer-b")
"""The kit's OIDC issuers: two, so tests can tell an issuer mismatch from a subject mismatch."""
CT_PREFIX = "wasmgate"
CA_VALIDITY = datetime.timedelta(days=30)
TRILLIAN_MODULE = "github.com/google/trillian"
TOOL_MODULE = "tools/go/sigstore"


@dataclass(frozen=True)
class SigstoreStack:
    """How to reach and trust the kit's sigstore instance."""

    fulcio_url: str
    rekor_url: str
    ct_url: str
    issuers: dict[str, str]
    """Issuer name -> issuer URL (what certificates record)."""
    trusted_root: str
    """Path of trusted_root.json."""
    signing_config: str
    """Path of signing_config.json (for `cosign sign --signing-config`)."""
    fulcio_ca_cert: str
    """Path of the Fulcio CA certificate (PEM)."""
    fulcio_ca_key: str
    """Path of the Fulcio CA key (encrypted PKCS#8): tests mint certificates Fulcio would not
    issue with it."""
    key_password: str = field(repr=False, default="")
    """Password of the Fulcio CA and CT log keys (a throwaway, like the keys)."""

    def issuer(self, name: str = ISSUERS[0]) -> str:
        return self.issuers[name]

    def token(self, subject: str, issuer: str = ISSUERS[0]) -> str:
        """An ID token for `subject` from one of the kit's issuers."""
        query = urllib.parse.urlencode({"subject": subject})
        url = f"{self.issuers[issuer]}/token?{query}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback http)
            token: str = response.read().decode()
            return token

    def to_dict(self) -> dict[str, Any]:
        """For kit.json: everything but the key password."""
        document = asdict(self)
        del document["key_password"]
        return document


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_private(path: Path, data: bytes) -> Path:
    path.touch(mode=0o600)
    path.write_bytes(data)
    return path


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _fulcio_ca(directory: Path, password: str) -> tuple[x509.Certificate, Path, Path]:
    """A self-signed CA with the extensions sigstore's verifiers expect of a Fulcio root; its key
    is an encrypted PKCS#8 PEM because Fulcio's file CA refuses to start without a password."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, sigstore_root.OPERATOR),
            x509.NameAttribute(NameOID.COMMON_NAME, "wasmgate-kit-fulcio"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(key, hashes.SHA384())
    )
    cert_path = directory / "fulcio-ca.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )
    return cert, cert_path, _write_private(directory / "fulcio-ca.key", encrypted)


def _ct_key(directory: Path, password: str) -> tuple[ec.EllipticCurvePublicKey, Path]:
    """The CT log's key: Trillian's PEM loader wants a password-protected (RFC 1423) PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(password.encode()),
    )
    return key.public_key(), _write_private(directory / "ct.key", pem)


def _rekor_key(directory: Path) -> tuple[ec.EllipticCurvePublicKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key(), _write_private(directory / "rekor.key", _pkcs8(key))


def _trillian_schema() -> Path:
    """Trillian's MySQL schema, from the exact module version the tool module pins."""
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    done = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", TRILLIAN_MODULE],
        cwd=repo_root() / TOOL_MODULE,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    schema = Path(done.stdout.strip()) / "storage" / "mysql" / "schema" / "storage.sql"
    if done.returncode != 0 or not schema.exists():
        raise KitError(f"cannot find Trillian's schema ({done.stderr.strip()}); run `make kit`")
    return schema


class _Starter:
    """Starts processes in order, keeping them so a failure stops what already runs."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.processes: list[ManagedProcess] = []

    def start(self, name: str, argv: list[str | Path], **kwargs: Any) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.state_dir / "logs" / f"{name}.log", **kwargs)
        process.start()
        self.processes.append(process)
        return process

    def wait_http(self, process: ManagedProcess, url: str, ok: tuple[int, ...] = (200,)) -> None:
        wait_for(
            lambda: http_status(url) in ok,
            what=f"{process.name} at {url}",
            timeout=START_TIMEOUT,
            alive=process.check_alive,
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _create_tree(binary: Path, admin: str, name: str, alive: Callable[[], None]) -> int:
    def attempt() -> int | None:
        done = subprocess.run(
            [str(binary), f"--admin_server={admin}", f"--display_name={name}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise KitError(done.stderr.strip()[-300:])
        return int(done.stdout.strip())

    return wait_for(attempt, what=f"createtree {name}", timeout=START_TIMEOUT, alive=alive)


def _trillian(
    starter: _Starter, binary: Callable[[str], Path], db: mariadb.MariaDB
) -> tuple[str, int, int]:
    mariadb.sql(db, "CREATE DATABASE IF NOT EXISTS trillian;")
    mariadb.sql(db, _trillian_schema().read_text(), database="trillian")
    rpc = f"{LOOPBACK}:{free_port()}"
    common = ["--storage_system=mysql", f"--mysql_uri={db.dsn('trillian')}"]
    server = starter.start(
        "trillian-log-server",
        [
            binary("trillian_log_server"),
            *common,
            f"--rpc_endpoint={rpc}",
            f"--http_endpoint={LOOPBACK}:{free_port()}",
        ],
    )
    starter.start(
        "trillian-log-signer",
        [
            binary("trillian_log_signer"),
            *common,
            "--force_master",
            "--sequencer_interval=50ms",
            f"--rpc_endpoint={LOOPBACK}:{free_port()}",
            f"--http_endpoint={LOOPBACK}:{free_port()}",
        ],
    )
    rekor_tree = _create_tree(binary("createtree"), rpc, "rekor", server.check_alive)
    ct_tree = _create_tree(binary("createtree"), rpc, "ctlog", server.check_alive)
    return rpc, rekor_tree, ct_tree


def _ct_config(tree: int, roots: Path, key: Path, password: str) -> str:
    return (
        "config {\n"
        f"  log_id: {tree}\n"
        f'  prefix: "{CT_PREFIX}"\n'
        f'  roots_pem_file: "{roots}"\n'
        "  private_key: {\n"
        "    [type.googleapis.com/keyspb.PEMKeyFile] {\n"
        f'      path: "{key}"\n'
        f'      password: "{password}"\n'
        "    }\n"
        "  }\n"
        '  ext_key_usages: "CodeSigning"\n'
        "}\n"
    )


def _seed_rekor(rekor_url: str) -> None:
    """Log one throwaway entry so real ones never sit at index 0 of a one-leaf tree.

    cosign writes bundles as protobuf JSON, which omits zero values: the first entry's
    `logIndex: 0` and its empty inclusion-proof `hashes` disappear, and sigstore-python 4.5
    refuses such a bundle as missing required fields. No public log is ever that young.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    artifact = b"wasmgate kit: first entry of a fresh log"
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    entry = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {
                "hash": {"algorithm": "sha256", "value": hashlib.sha256(artifact).hexdigest()}
            },
            "signature": {
                "content": base64.b64encode(key.sign(artifact, ec.ECDSA(hashes.SHA256()))).decode(),
                "publicKey": {"content": base64.b64encode(pem).decode()},
            },
        },
    }
    post_rekor_entry(rekor_url, entry)


def post_rekor_entry(rekor_url: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Log `entry` (a Rekor v1 proposed entry) and return the API's answer: {uuid: log entry}."""
    request = urllib.request.Request(  # noqa: S310 (the kit's Rekor, http on loopback)
        f"{rekor_url}/api/v1/log/entries",
        data=json.dumps(entry).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _fulcio_config(issuers: dict[str, str]) -> dict[str, Any]:
    return {
        "OIDCIssuers": {
            url: {"IssuerURL": url, "ClientID": oidc_issuer.DEFAULT_AUDIENCE, "Type": "email"}
            for url in issuers.values()
        }
    }


def start_sigstore(
    state_dir: Path, binary: Callable[[str], Path]
) -> tuple[SigstoreStack, list[ManagedProcess]]:
    """Start the whole instance; return how to reach it and its processes (stop in reverse)."""
    root = state_dir / "sigstore"
    root.mkdir(parents=True, exist_ok=True)
    starter = _Starter(state_dir)
    try:
        db, db_process = mariadb.start_mariadb(state_dir)
        starter.processes.append(db_process)
        trillian_rpc, rekor_tree, ct_tree = _trillian(starter, binary, db)
        since = _now() - datetime.timedelta(minutes=5)
        password = os.urandom(12).hex()
        ca_cert, ca_cert_path, ca_key_path = _fulcio_ca(root, password)
        ct_public, ct_key_path = _ct_key(root, password)
        rekor_public, rekor_key_path = _rekor_key(root)

        ct_port = free_port()
        ct_url = f"http://{LOOPBACK}:{ct_port}/{CT_PREFIX}"
        ct_config = root / "ct.cfg"
        ct_config.write_text(_ct_config(ct_tree, ca_cert_path, ct_key_path, password))
        ct = starter.start(
            "ct-log",
            [
                binary("ct_server"),
                f"--log_config={ct_config}",
                f"--log_rpc_server={trillian_rpc}",
                f"--http_endpoint={LOOPBACK}:{ct_port}",
                "--quota_remote=false",
                "--quota_intermediate=false",
            ],
        )

        rekor_port = free_port()
        rekor_url = f"http://{LOOPBACK}:{rekor_port}"
        host, port = trillian_rpc.rsplit(":", 1)
        rekor = starter.start(
            "rekor",
            [
                binary("rekor-server"),
                "serve",
                f"--trillian_log_server.address={host}",
                f"--trillian_log_server.port={port}",
                f"--trillian_log_server.tlog_id={rekor_tree}",
                f"--rekor_server.address={LOOPBACK}",
                f"--port={rekor_port}",
                f"--rekor_server.signer={rekor_key_path}",
                "--rekor_server.hostname=wasmgate-kit-rekor",
                "--enable_retrieve_api=false",
                "--enabled_api_endpoints=getLogInfo,getPublicKey,getLogProof,createLogEntry,"
                "getLogEntryByIndex,getLogEntryByUUID,searchLogQuery",
                "--log_type=prod",
            ],
            cwd=root,
        )

        oidc_port = free_port()
        oidc_key = root / "oidc.key"
        oidc_issuer.generate_key(oidc_key)
        oidc = starter.start(
            "oidc-issuer",
            [
                sys.executable,
                "-m",
                "wasmgate_kit.oidc_issuer",
                f"--port={oidc_port}",
                f"--key={oidc_key}",
                *[f"--issuer={name}" for name in ISSUERS],
            ],
        )
        issuers = {name: f"http://{LOOPBACK}:{oidc_port}/{name}" for name in ISSUERS}
        starter.wait_http(oidc, f"{issuers[ISSUERS[0]]}/.well-known/openid-configuration")

        fulcio_port = free_port()
        fulcio_url = f"http://{LOOPBACK}:{fulcio_port}"
        fulcio_config = root / "fulcio-config.json"
        fulcio_config.write_text(json.dumps(_fulcio_config(issuers), indent=2))
        fulcio = starter.start(
            "fulcio",
            [
                binary("fulcio"),
                "serve",
                "--ca=fileca",
                f"--fileca-cert={ca_cert_path}",
                f"--fileca-key={ca_key_path}",
                f"--fileca-key-passwd={password}",
                "--fileca-watch=false",
                f"--ct-log-url={ct_url}",
                f"--config-path={fulcio_config}",
                f"--host={LOOPBACK}",
                f"--port={fulcio_port}",
                f"--grpc-host={LOOPBACK}",
                f"--grpc-port={free_port()}",
                f"--metrics-port={free_port()}",
                f"--legacy-unix-domain-socket={root / 'fulcio-legacy.sock'}",
                "--log_type=prod",
            ],
        )
        starter.wait_http(ct, f"{ct_url}/ct/v1/get-sth")
        starter.wait_http(rekor, f"{rekor_url}/api/v1/log")
        _seed_rekor(rekor_url)
        starter.wait_http(fulcio, f"{fulcio_url}/api/v2/trustBundle")

        trusted = root / "trusted_root.json"
        trusted.write_text(
            json.dumps(
                sigstore_root.trusted_root(
                    fulcio_url=fulcio_url,
                    fulcio_chain=[ca_cert],
                    rekor_url=rekor_url,
                    rekor_key=rekor_public,
                    ct_url=ct_url,
                    ct_key=ct_public,
                    since=since,
                ),
                indent=2,
            )
        )
        signing = root / "signing_config.json"
        signing.write_text(
            json.dumps(
                sigstore_root.signing_config(
                    fulcio_url=fulcio_url,
                    oidc_url=issuers[ISSUERS[0]],
                    rekor_url=rekor_url,
                    since=since,
                ),
                indent=2,
            )
        )
    except BaseException:
        starter.stop()
        raise
    stack = SigstoreStack(
        fulcio_url=fulcio_url,
        rekor_url=rekor_url,
        ct_url=ct_url,
        issuers=issuers,
        trusted_root=str(trusted),
        signing_config=str(signing),
        fulcio_ca_cert=str(ca_cert_path),
        fulcio_ca_key=str(ca_key_path),
        key_password=password,
    )
    return stack, starter.processes
