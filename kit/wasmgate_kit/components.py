"""The pinned table of real components the kit builds, and how each is built.

Versions are pinned here and in the Go tool modules under `tools/go/`. Kubernetes libraries are
pinned to v0.33.4 wherever they appear so one Go build cache serves every module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KUBERNETES_VERSION = "v1.33.4"
ETCD_VERSION = "v3.5.21"
KWOK_VERSION = "v0.7.0"
COSIGN_VERSION = "v3.1.3"
ORAS_VERSION = "v1.3.6"
GGCR_VERSION = "v0.22.1"
HELM_VERSION = "v3.18.6"
# The sigstore stack is named by Fulcio's version; tools/go/sigstore pins the rest (Rekor v1.5.4,
# Trillian v1.7.3, certificate-transparency-go v1.4.0) and go.sum is part of the cache key.
SIGSTORE_VERSION = "fulcio-v1.8.8"
DOCKER_REGISTRY_DEB_VERSION = "2.8.2+ds1-1"
# Upstream kube-scheduler-wasm-extension, the scheduler plugins are written for. The module proxy
# refuses its module, so it is built from the pinned source snapshot (SNAPSHOT.md names the
# commit) in ../shared/upstream beside the checkout, or from the module where a proxy serves it.
UPSTREAM_COMMIT = "9b2791f1bbea8ad75871433ca0a201d03edee714"
UPSTREAM_VERSION = UPSTREAM_COMMIT[:12]
UPSTREAM_SCHEDULER_BINARY = "kube-scheduler-wasm-extension"

_K8S_VERSION_LDFLAGS = (
    f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION} "
    "-X k8s.io/component-base/version.gitMajor=1 "
    "-X k8s.io/component-base/version.gitMinor=33 "
    "-X k8s.io/component-base/version.gitTreeState=clean"
)


@dataclass(frozen=True)
class GoComponent:
    """Binaries built with `go build` from one tool module."""

    name: str
    version: str
    module_dir: str
    """Tool module directory, relative to the repository root."""
    packages: dict[str, str]
    """Binary name -> Go package path."""
    ldflags: str = "-s -w"
    own_sources: tuple[str, ...] = ()
    """Directories (relative to module_dir) of our own code; their content is part of the key."""
    # Out of repr, which is part of every component's cache key: adding the field must not
    # invalidate the other components' builds.
    from_upstream_snapshot: bool = field(default=False, repr=False)
    """The module's go.mod replaces upstream's modules with the source snapshot; without the
    snapshot the replaces are dropped and the pinned pseudo-version comes from the proxy."""


@dataclass(frozen=True)
class DebComponent:
    """Binaries extracted from a Debian package without running its maintainer scripts."""

    name: str
    version: str
    package: str
    binaries: dict[str, str] = field(default_factory=dict)
    """Binary name -> path inside the package."""


Component = GoComponent | DebComponent

COMPONENTS: tuple[Component, ...] = (
    GoComponent(
        name="kubernetes",
        version=KUBERNETES_VERSION,
        module_dir="tools/go/kubernetes",
        packages={
            "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
            "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
            "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
            "kubectl": "k8s.io/kubernetes/cmd/kubectl",
            "kwok": "sigs.k8s.io/kwok/cmd/kwok",
        },
        ldflags=f"-s -w {_K8S_VERSION_LDFLAGS}",
    ),
    GoComponent(
        name="upstream-scheduler",
        version=UPSTREAM_VERSION,
        module_dir="tools/go/upstream",
        packages={
            # Named as upstream's scheduler/Dockerfile installs it.
            UPSTREAM_SCHEDULER_BINARY: (
                "sigs.k8s.io/kube-scheduler-wasm-extension/scheduler/cmd/scheduler"
            ),
            "upstream-verdict": "./cmd/upstream-verdict",
        },
        own_sources=("cmd/upstream-verdict",),
        from_upstream_snapshot=True,
    ),
    GoComponent(
        name="etcd",
        version=ETCD_VERSION,
        module_dir="tools/go/etcd",
        packages={"etcd": "go.etcd.io/etcd/server/v3"},
    ),
    GoComponent(
        name="ociregistry",
        version=GGCR_VERSION,
        module_dir="tools/go/registry",
        packages={"ociregistry": "./cmd/ociregistry"},
        own_sources=("cmd/ociregistry",),
    ),
    GoComponent(
        name="oras",
        version=ORAS_VERSION,
        module_dir="tools/go/oras",
        packages={"oras": "oras.land/oras/cmd/oras"},
    ),
    GoComponent(
        name="cosign",
        version=COSIGN_VERSION,
        module_dir="tools/go/cosign",
        packages={"cosign": "github.com/sigstore/cosign/v3/cmd/cosign"},
    ),
    GoComponent(
        name="sigstore",
        version=SIGSTORE_VERSION,
        module_dir="tools/go/sigstore",
        packages={
            "fulcio": "github.com/sigstore/fulcio",
            "rekor-server": "github.com/sigstore/rekor/cmd/rekor-server",
            "trillian_log_server": "github.com/google/trillian/cmd/trillian_log_server",
            "trillian_log_signer": "github.com/google/trillian/cmd/trillian_log_signer",
            "createtree": "github.com/google/trillian/cmd/createtree",
            "ct_server": "github.com/google/certificate-transparency-go/trillian/ctfe/ct_server",
        },
    ),
    DebComponent(
        name="docker-registry",
        version=DOCKER_REGISTRY_DEB_VERSION,
        package="docker-registry",
        binaries={"docker-registry": "usr/bin/docker-registry"},
    ),
    # The real node (kit/real_node.py): its own tool module because the kubelet needs go.sum
    # entries the kubernetes module lacks; same pins, so the Go build cache is shared.
    GoComponent(
        name="kubelet",
        version=KUBERNETES_VERSION,
        module_dir="tools/go/kubelet",
        packages={"kubelet": "k8s.io/kubernetes/cmd/kubelet", "kit-pause": "./cmd/kit-pause"},
        ldflags=f"-s -w {_K8S_VERSION_LDFLAGS}",
        own_sources=("cmd/kit-pause",),
    ),
    # charts/wasmgate is linted, rendered and installed with it (tests/e2e/test_helm_install.py).
    # v3.18 is the last helm line on Kubernetes 1.33 libraries; tools/go/helm raises them to
    # v0.33.4 like every other tool module, so the Go build cache is shared.
    GoComponent(
        name="helm",
        version=HELM_VERSION,
        module_dir="tools/go/helm",
        packages={"helm": "helm.sh/helm/v3/cmd/helm"},
        # As helm's Makefile sets them: `helm version`, and the Kubernetes version `helm template`
        # and `helm lint` assume (.Capabilities.KubeVersion, deprecation checks; default v1.20).
        ldflags=(
            f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION} "
            "-X helm.sh/helm/v3/internal/version.gitTreeState=clean "
            "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 "
            "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=33 "
            "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 "
            "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=33"
        ),
    ),
)


def component_named(name: str) -> Component:
    for component in COMPONENTS:
        if component.name == name:
            return component
    known = ", ".join(c.name for c in COMPONENTS)
    raise KeyError(f"no kit component {name!r}; known: {known}")


def binary_owner(binary: str) -> Component:
    """The component that produces `binary`."""
    for component in COMPONENTS:
        names = component.packages if isinstance(component, GoComponent) else component.binaries
        if binary in names:
            return component
    raise KeyError(f"no kit component builds {binary!r}")
