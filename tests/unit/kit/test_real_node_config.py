"""The real node's configuration, checked without starting it: what it may reach, what it runs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from cryptography import x509

from wasmgate_kit import containerd
from wasmgate_kit.debian_image import NON_ROOT_UID, python_base
from wasmgate_kit.images import CONTAINERD_NAME_ANNOTATION, NON_ROOT, StaticImage
from wasmgate_kit.net import KUBERNETES_SERVICE_ADDRESS
from wasmgate_kit.netns import KitNetwork
from wasmgate_kit.netns_forward import ANY_ADDRESS, Forward, every_address
from wasmgate_kit.pki import CertificateAuthority
from wasmgate_kit.real_node import TAINT, build_kubelet_config

NETWORK = KitNetwork(7)


def test_each_index_gets_disjoint_names_and_subnets() -> None:
    assert (NETWORK.name, NETWORK.host_veth) == ("wgkit-7", "wgkit7h")
    assert (NETWORK.host_address, NETWORK.node_address) == ("10.232.7.1", "10.232.7.2")
    assert NETWORK.pod_cidr == "10.233.7.0/24"
    assert len(NETWORK.host_veth) <= 15, "Linux interface names have at most 15 characters"
    assert KitNetwork(8).pod_cidr != NETWORK.pod_cidr


def test_pods_get_no_default_route_and_no_masquerading(tmp_path: Path) -> None:
    path = containerd.write_cni_config(tmp_path / "net.d", NETWORK, tmp_path / "ipam")
    bridge = json.loads(path.read_text())["plugins"][0]
    assert bridge["type"] == "bridge"
    assert bridge["ipMasq"] is False
    routes = [route["dst"] for route in bridge["ipam"]["routes"]]
    assert routes == ["10.96.0.0/16", "10.232.7.0/24"], "only the Services and the node's link"
    assert all("gw" not in route for route in bridge["ipam"]["routes"]), "via the bridge only"
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.233.7.0/24"}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path / "ipam")


def test_containerd_runs_runc_with_oom_score_adj_restricted(tmp_path: Path) -> None:
    path = containerd.write_config(
        tmp_path, socket=tmp_path / "c.sock", sandbox_image="wasmgate.kit/pause:x",
        cni_conf_dir=tmp_path / "net.d", registries=("127.0.0.1:5000",),
    )  # fmt: skip
    text = path.read_text()
    for line in (
        "restrict_oom_score_adj = true",
        'sandbox_image = "wasmgate.kit/pause:x"',
        'BinaryName = "/usr/sbin/runc"',
        "SystemdCgroup = false",
        f'address = "{tmp_path / "c.sock"}"',
        f'root = "{tmp_path / "root"}"',
        '[plugins."io.containerd.grpc.v1.cri".registry.mirrors."127.0.0.1:5000"]',
        'endpoint = ["http://127.0.0.1:5000"]',
    ):
        assert line in text, line


def test_containerd_starts_in_its_own_mount_namespace_inside_the_node_network() -> None:
    argv = containerd.containerd_argv(Path("/x/config.toml"), NETWORK, Path("/k/var-lib"))
    assert argv[:2] == ["env", "WGKIT_VAR_LIB_WASMGATE=/k/var-lib"]
    assert argv[2:6] == ["unshare", "--mount", "--propagation", "slave"]
    assert "--net=/run/netns/wgkit-7" in argv
    assert argv[-3:] == ["containerd", "--config", "/x/config.toml"]
    script = argv[argv.index("-c") + 1]
    assert "mount -t tmpfs -o mode=0755 wgkit-run /run" in script
    assert "mount --bind /run/wgkit-sysctl/0 /proc/sys/vm/overcommit_memory" in script
    assert 'mount --bind "$WGKIT_VAR_LIB_WASMGATE" /var/lib/wasmgate' in script


def test_forwards_parse_back_from_their_arguments() -> None:
    forward = Forward(KUBERNETES_SERVICE_ADDRESS, 443, 36001)
    assert str(forward) == "10.96.0.1:443=36001"
    assert Forward.parse(str(forward)) == forward
    assert every_address(5000) == Forward(ANY_ADDRESS, 5000, 5000)


def test_kubelet_listens_in_the_namespace_and_keeps_pods_off_by_default(tmp_path: Path) -> None:
    config = build_kubelet_config(
        network=NETWORK, socket=tmp_path / "c.sock", ca=tmp_path / "ca.crt",
        serving=(tmp_path / "s.crt", tmp_path / "s.key"), pod_logs=tmp_path / "logs",
    )  # fmt: skip
    assert config["address"] == "10.232.7.2"
    assert config["readOnlyPort"] == 0
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authorization"] == {"mode": "Webhook"}
    assert config["cgroupRoot"] == "/wgkit-7"
    assert config["containerRuntimeEndpoint"] == f"unix://{tmp_path / 'c.sock'}"
    assert config["registerWithTaints"] == [TAINT]


@pytest.fixture
def pause_binary(tmp_path: Path) -> Path:
    binary = tmp_path / "kit-pause"
    binary.write_bytes(b"\x7fELF not really")
    return binary


def test_static_image_is_an_oci_layout_named_for_ctr_and_cached(
    pause_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reference, archive = StaticImage("wasmgate.kit/pause", pause_binary).archive()
    assert reference.startswith("wasmgate.kit/pause:")
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["annotations"][CONTAINERD_NAME_ANNOTATION] == reference
    manifest = json.loads(files[f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"])
    config = json.loads(
        files[f"blobs/sha256/{manifest['config']['digest'].removeprefix('sha256:')}"]
    )
    assert config["config"] == {"Entrypoint": ["/kit-pause"], "User": NON_ROOT}
    layer = files[f"blobs/sha256/{manifest['layers'][0]['digest'].removeprefix('sha256:')}"]
    assert config["rootfs"]["diff_ids"] == [f"sha256:{hashlib.sha256(layer).hexdigest()}"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mode, member.mtime) == ("kit-pause", 0o755, 0)

    mtime = archive.stat().st_mtime_ns
    assert StaticImage("wasmgate.kit/pause", pause_binary).archive() == (reference, archive)
    assert archive.stat().st_mtime_ns == mtime, "a cached archive is not written again"
    pause_binary.write_bytes(b"\x7fELF another build")
    assert StaticImage("wasmgate.kit/pause", pause_binary).archive()[0] != reference


def test_a_loaded_ca_issues_certificates_the_original_verifies(tmp_path: Path) -> None:
    original = CertificateAuthority(tmp_path)
    loaded = CertificateAuthority.load(tmp_path)
    pair = loaded.issue("node", "system:node:x", organization="system:nodes", client=True)
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(original.cert_path.read_bytes())
    cert.verify_directly_issued_by(ca)


def test_debian_images_get_a_non_root_user_a_writable_tmp_and_their_links(tmp_path: Path) -> None:
    python_base()._add_container_files(tmp_path)
    assert f"nonroot:x:{NON_ROOT_UID}:{NON_ROOT_UID}:" in (tmp_path / "etc" / "passwd").read_text()
    assert f"nonroot:x:{NON_ROOT_UID}:" in (tmp_path / "etc" / "group").read_text()
    assert (tmp_path / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert (tmp_path / "usr" / "bin" / "python3").readlink() == Path("python3.11")
