"""charts/wasmgate rendered by the kit's helm, object by object against `kubectl kustomize deploy/`.

Two ways to install must install the same thing: the chart is compared with the kustomize base
(self-managed webhook certificates) and with deploy/overlays/cert-manager, after removing only
what legitimately differs (each normalisation below says why). The chart's CRDs must be the
generated crds/*.yaml byte for byte, `helm lint --strict` must pass, every value must reach each
place it belongs (another namespace and store path to every object, subject, reference and
flag), and values the operator cannot follow are refused with a message naming the value and the
fix. tests/e2e/test_helm_install.py installs the chart on the kit.
"""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from wasmgate.api.generate import crd_files
from wasmgate_kit.build import binary_path

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART = REPO_ROOT / "charts" / "wasmgate"
DEPLOY = REPO_ROOT / "deploy"
NAMESPACE = "wasmgate-system"
TIMEOUT = 120

Object = dict[str, Any]
Key = tuple[str, str, str, str]

# Labels the chart adds to every object for Helm's conventions (templates/_helpers.tpl,
# "wasmgate.helmLabels"). `helm install` also forces app.kubernetes.io/managed-by=Helm on every
# object it owns (helm's action.setMetadataVisitor), so the one object deploy/ labels
# managed-by=wasmgate (the cert-manager overlay's ValidatingWebhookConfiguration) has it replaced
# in a Helm install anyway; nothing in wasmgate reads that label on it.
HELM_LABELS = frozenset(
    {
        "helm.sh/chart",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
    }
)


def _run(*argv: str | Path) -> str:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, timeout=TIMEOUT
    )
    assert result.returncode == 0, f"{' '.join(map(str, argv))}:\n{result.stderr}"
    return result.stdout


def helm(*args: str | Path) -> str:
    return _run(binary_path("helm"), *args)


def kustomize(directory: Path) -> str:
    return _run(binary_path("kubectl"), "kustomize", directory)


def helm_template(*values: str, namespace: str = NAMESPACE) -> str:
    sets = [arg for value in values for arg in ("--set", value)]
    return helm("template", "wasmgate", CHART, "--namespace", namespace, "--include-crds", *sets)


def refusal(*values: str) -> str:
    sets = [arg for value in values for arg in ("--set", value)]
    argv = [str(binary_path("helm")), "template", "wasmgate", str(CHART), *sets]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=TIMEOUT)
    assert result.returncode != 0, f"helm template {' '.join(sets)} rendered:\n{result.stdout}"
    return result.stderr


def _key(document: Object) -> Key:
    metadata = document["metadata"]
    return (document["apiVersion"], document["kind"], metadata.get("namespace", ""),
            metadata["name"])  # fmt: skip


def objects(rendered: str) -> dict[Key, Object]:
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    keyed = {_key(d): d for d in documents}
    assert len(keyed) == len(documents), "two objects share a kind, namespace and name"
    return keyed


def normalised(document: Object) -> Object:
    metadata = document["metadata"]
    labels = {k: v for k, v in metadata.get("labels", {}).items() if k not in HELM_LABELS}
    metadata.pop("labels", None)
    if labels:
        metadata["labels"] = labels
    pod = document.get("spec", {}).get("template", {}).get("spec", {})
    if "volumes" in pod:
        # Pod volumes are a list merged by name: kustomize's strategic merge moves a patched
        # volume (the cert-manager overlay's admission-certs) to the front; the kubelet gives
        # the order no meaning.
        pod["volumes"] = sorted(pod["volumes"], key=lambda volume: volume["name"])
    return document


def through_kustomize(rendered: str, work: Path) -> str:
    """Helm's output as kustomize re-serialises it. kyaml and PyYAML read a folded `>-` scalar
    whose next line is more indented (the CEL of the admission policies) differently (an extra
    blank line or not); both renders must pass the same reader to be compared."""
    (work / "helm.yaml").write_text(rendered)
    (work / "kustomization.yaml").write_text("resources: [helm.yaml]\n")
    return kustomize(work)


def _difference(chart: dict[Key, Object], deploy: dict[Key, Object]) -> list[str]:
    problems = [f"only in the chart: {k}" for k in sorted(chart.keys() - deploy.keys())]
    problems += [f"only in deploy/: {k}" for k in sorted(deploy.keys() - chart.keys())]
    for key in sorted(chart.keys() & deploy.keys()):
        ours, theirs = normalised(chart[key]), normalised(deploy[key])
        if ours != theirs:
            diff = difflib.unified_diff(
                yaml.safe_dump(theirs).splitlines(), yaml.safe_dump(ours).splitlines(),
                "kustomize", "helm", lineterm="",
            )  # fmt: skip
            problems.append(f"{key} differs:\n" + "\n".join(diff))
    return problems


# (id, chart values, kustomize directory, kinds the chart leaves out on purpose)
RENDERS = [
    ("self-managed", ("createNamespace=true",), DEPLOY, ()),
    ("cert-manager", ("createNamespace=true", "webhook.certificates=certManager"),
     DEPLOY / "overlays" / "cert-manager", ()),
    # By default the release does not own the Namespace (values.yaml says why).
    ("default-values", (), DEPLOY, ("Namespace",)),
]  # fmt: skip


@pytest.mark.parametrize(("values", "directory", "left_out"), [r[1:] for r in RENDERS],
                         ids=[r[0] for r in RENDERS])  # fmt: skip
def test_the_chart_renders_what_kustomize_renders(
    values: tuple[str, ...], directory: Path, left_out: tuple[str, ...], tmp_path: Path
) -> None:
    chart = objects(through_kustomize(helm_template(*values), tmp_path))
    deploy = {k: v for k, v in objects(kustomize(directory)).items() if k[1] not in left_out}
    problems = _difference(chart, deploy)
    assert problems == [], "\n".join(problems)


def test_the_chart_crds_are_the_generated_crds() -> None:
    generated = sorted(crd_files())
    shipped = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert shipped == sorted([*generated, "kopf-peering.yaml"]), (
        "charts/wasmgate/crds must hold exactly the generated crds/*.yaml and kopf-peering.yaml"
    )
    stale = [
        name
        for name in generated
        if (CHART / "crds" / name).read_bytes() != (REPO_ROOT / "crds" / name).read_bytes()
    ]
    assert stale == [], f"stale chart CRDs {stale}: run `cp crds/*.dev.yaml charts/wasmgate/crds/`"


@pytest.mark.parametrize(
    "values",
    [(), ("webhook.certificates=certManager",), ("metrics.serviceMonitor.enabled=true",)],
    ids=["default", "cert-manager", "service-monitor"],
)
def test_helm_lint_passes(values: tuple[str, ...]) -> None:
    sets = [arg for value in values for arg in ("--set", value)]
    out = helm("lint", "--strict", CHART, *sets)
    assert "1 chart(s) linted, 0 chart(s) failed" in out, out


def _workloads(rendered: str | dict[Key, Object], namespace: str = NAMESPACE) -> dict[str, Object]:
    found = objects(rendered) if isinstance(rendered, str) else rendered
    return {
        "operator": found[("apps/v1", "Deployment", namespace, "wasmgate-operator")],
        "agent": found[("apps/v1", "DaemonSet", namespace, "wasmgate-agent")],
    }


def _containers(workload: Object) -> list[Object]:
    pod = workload["spec"]["template"]["spec"]
    containers: list[Object] = [*pod.get("initContainers", []), *pod["containers"]]
    return containers


@pytest.mark.parametrize(
    ("values", "image", "policy"),
    [
        (("image.repository=registry.local/wasmgate", "image.tag=v9"),
         "registry.local/wasmgate:v9", None),
        (("image.digest=sha256:" + "ab" * 32, "image.pullPolicy=Always"),
         "ghcr.io/wasmgate/wasmgate@sha256:" + "ab" * 32, "Always"),
    ],
    ids=["tag", "digest"],
)  # fmt: skip
def test_the_image_reaches_every_container(
    values: tuple[str, ...], image: str, policy: str | None
) -> None:
    containers = [c for w in _workloads(helm_template(*values)).values() for c in _containers(w)]
    assert [c["name"] for c in containers] == ["operator", "own-store", "agent"]
    assert {(c["image"], c.get("imagePullPolicy")) for c in containers} == {(image, policy)}


def test_replicas_metrics_and_agent_values_reach_their_places() -> None:
    rendered = helm_template(
        "operator.replicas=3", "metrics.port=9191", "metrics.agentPort=9292",
        "agent.capacityBytes=1073741824", "agent.concurrency=4", "agent.gcGraceSeconds=60",
        "operator.extraArgs={--webhook-failure-policy=Fail}",
    )  # fmt: skip
    workloads = _workloads(rendered)
    operator = workloads["operator"]
    assert operator["spec"]["replicas"] == 3
    container = _containers(operator)[0]
    assert "--metrics-port=9191" in container["args"]
    assert container["args"][-1] == "--webhook-failure-policy=Fail"
    assert {"name": "metrics", "containerPort": 9191} in container["ports"]
    service = objects(rendered)[("v1", "Service", NAMESPACE, "wasmgate-metrics")]
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9191, "targetPort": "metrics"}]
    agent = _containers(workloads["agent"])[1]
    assert agent["args"][2:] == [
        "--store=/var/lib/wasmgate/store", "--capacity=1073741824", "--concurrency=4",
        "--gc-grace=60", "--metrics-port=9292",
    ]  # fmt: skip
    assert agent["ports"] == [{"name": "metrics", "containerPort": 9292}]


def test_registry_mirrors_reach_the_operator_and_every_agent() -> None:
    mirrors = ["registry.example.com/team=mirror.local:5000/team", "ghcr.io/org=cache.local/org"]
    rendered = helm_template(
        f"registryMirrors={{{','.join(mirrors)}}}", "operator.extraArgs={--verbose}"
    )
    workloads = _workloads(rendered)
    flags = [f"--registry-mirror={m}" for m in mirrors]
    operator = _containers(workloads["operator"])[0]
    assert operator["args"][-3:] == [*flags, "--verbose"]
    agent = _containers(workloads["agent"])[1]
    assert agent["args"][-2:] == flags


def test_the_registry_ca_configmap_reaches_both_and_the_agent_may_read_only_it() -> None:
    rendered = helm_template("registryCAConfigMap=corp-ca")
    workloads = _workloads(rendered)
    flag = f"--registry-ca-configmap={NAMESPACE}/corp-ca"
    assert _containers(workloads["operator"])[0]["args"][-1] == flag
    assert _containers(workloads["agent"])[1]["args"][-1] == flag
    role = objects(rendered)[("rbac.authorization.k8s.io/v1", "Role", NAMESPACE,
                               "wasmgate-agent-registry-ca")]  # fmt: skip
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["corp-ca"],
         "verbs": ["get"]},
    ]  # fmt: skip
    binding = objects(rendered)[("rbac.authorization.k8s.io/v1", "RoleBinding", NAMESPACE,
                                  "wasmgate-agent-registry-ca")]  # fmt: skip
    assert binding["subjects"][0]["name"] == "wasmgate-agent"


def test_the_proxy_reaches_the_operator_and_every_agent() -> None:
    rendered = helm_template("proxy.https=http://proxy.corp:3128", "proxy.noProxy=.corp")
    workloads = _workloads(rendered)
    flags = ["--https-proxy=http://proxy.corp:3128", "--no-proxy=.corp"]
    assert _containers(workloads["operator"])[0]["args"][-2:] == flags
    assert _containers(workloads["agent"])[1]["args"][-2:] == flags


def test_a_cluster_issuer_replaces_the_self_signed_issuer() -> None:
    rendered = objects(
        helm_template(
            "webhook.certificates=certManager",
            "webhook.certManager.issuerRef.kind=ClusterIssuer",
            "webhook.certManager.issuerRef.name=corp-ca",
        )
    )
    certificate = rendered[("cert-manager.io/v1", "Certificate", NAMESPACE, "wasmgate-webhook")]
    assert certificate["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "corp-ca"}
    assert not [k for k in rendered if k[1] == "Issuer"]


def test_a_service_monitor_scrapes_the_metrics_service() -> None:
    rendered = objects(helm_template("metrics.serviceMonitor.enabled=true"))
    monitor = rendered[("monitoring.coreos.com/v1", "ServiceMonitor", NAMESPACE,
                        "wasmgate-operator")]  # fmt: skip
    service = rendered[("v1", "Service", NAMESPACE, "wasmgate-metrics")]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_optional_objects_can_be_left_out() -> None:
    rendered = objects(
        helm_template(
            "trustPolicy.create=false", "scheduler.create=false", "metrics.service.enabled=false"
        )
    )
    kinds = {(k[1], k[3]) for k in rendered}
    assert not kinds & {("WasmTrustPolicy", "default"), ("WasmScheduler", "wasmgate-scheduler"),
                        ("Service", "wasmgate-metrics")}  # fmt: skip
    # The scheduler pods' identity stays: WasmSchedulers created later run under it.
    assert ("ServiceAccount", "wasmgate-scheduler") in kinds


MOVED_NAMESPACE = "team-wasm"
MOVED_STORE = "/srv/wasm/store"
MOVED = (f"namespace={MOVED_NAMESPACE}", f"agent.storePath={MOVED_STORE}")
CERTIFICATES = [(), ("webhook.certificates=certManager",)]


def _rendered_without_crds(*values: str, namespace: str) -> str:
    sets = [arg for value in values for arg in ("--set", value)]
    # The CRDs' descriptions give wasmgate-system as an example namespace; they are not rendered.
    return helm("template", "wasmgate", CHART, "--namespace", namespace, *sets)


def _moved_namespace(key: Key) -> Key:
    """Where an object of the default render is expected with namespace=team-wasm (the Namespace
    object itself is renamed)."""
    moved = {NAMESPACE: MOVED_NAMESPACE}
    api_version, kind, namespace, name = key
    return api_version, kind, moved.get(namespace, namespace), moved.get(name, name)


@pytest.mark.parametrize("values", CERTIFICATES, ids=["self-managed", "cert-manager"])
def test_every_namespaced_object_and_reference_follows_the_namespace(
    values: tuple[str, ...],
) -> None:
    default = objects(helm_template("createNamespace=true", *values))
    moved = objects(helm_template("createNamespace=true", *MOVED, *values,
                                  namespace=MOVED_NAMESPACE))  # fmt: skip
    # The same objects, each namespaced one in team-wasm; only the scheduler's reader binding of
    # kube-system's extension-apiserver-authentication stays where that Role is.
    assert sorted(moved) == sorted(_moved_namespace(k) for k in default)
    assert {k[2] for k in moved} == {"", MOVED_NAMESPACE, "kube-system"}
    subjects = [s for k, o in moved.items() if k[0] == "rbac.authorization.k8s.io/v1"
                and k[1].endswith("Binding") for s in o["subjects"]]  # fmt: skip
    assert len(subjects) >= 6
    assert {(s["kind"], s["namespace"]) for s in subjects} == {("ServiceAccount", MOVED_NAMESPACE)}
    for policy in ("wasmgate-operator-scheduler-pods", "wasmgate-agent-own-node-cache"):
        body = moved[("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "", policy)]
        [condition] = [c["expression"] for c in body["spec"]["matchConditions"]]
        assert f"'system:serviceaccount:{MOVED_NAMESPACE}:wasmgate-" in condition
    operator = _containers(_workloads(moved, MOVED_NAMESPACE)["operator"])[0]
    if values:
        webhooks = moved[("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                          "", "wasmgate.dev")]["webhooks"]  # fmt: skip
        assert {w["clientConfig"]["service"]["namespace"] for w in webhooks} == {MOVED_NAMESPACE}
        certificate = moved[("cert-manager.io/v1", "Certificate", MOVED_NAMESPACE,
                             "wasmgate-webhook")]  # fmt: skip
        assert f"wasmgate-webhook.{MOVED_NAMESPACE}.svc" in certificate["spec"]["dnsNames"]
    else:
        # The operator writes its own ValidatingWebhookConfiguration from these flags.
        assert f"--webhook-service={MOVED_NAMESPACE}/wasmgate-webhook:443" in operator["args"]
        assert f"--webhook-ca-secret={MOVED_NAMESPACE}/wasmgate-webhook-ca" in operator["args"]


def test_the_operator_and_the_agents_follow_the_namespace_and_the_store_path() -> None:
    workloads = _workloads(objects(helm_template(*MOVED, namespace=MOVED_NAMESPACE)),
                           MOVED_NAMESPACE)  # fmt: skip
    operator = _containers(workloads["operator"])[0]
    assert operator["args"][1:6] == [
        f"--namespace={MOVED_NAMESPACE}", "--peering=wasmgate",
        f"--namespace-for-events={MOVED_NAMESPACE}", f"--scheduler-namespace={MOVED_NAMESPACE}",
        f"--node-store={MOVED_STORE}",
    ]  # fmt: skip
    own_store, agent = _containers(workloads["agent"])
    assert own_store["command"] == ["chown", "65532:65532", MOVED_STORE]
    assert agent["args"][2:4] == [f"--store={MOVED_STORE}", f"--secret-namespace={MOVED_NAMESPACE}"]
    pod = workloads["agent"]["spec"]["template"]["spec"]
    store = next(v for v in pod["volumes"] if v["name"] == "store")
    assert store["hostPath"] == {"path": MOVED_STORE, "type": "DirectoryOrCreate"}
    mounts = [m["mountPath"] for c in (own_store, agent) for m in c["volumeMounts"]
              if m["name"] == "store"]  # fmt: skip
    assert mounts == [MOVED_STORE, MOVED_STORE]
    policy = objects(helm_template(*MOVED, namespace=MOVED_NAMESPACE))[
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "",
         "wasmgate-operator-scheduler-pods")]  # fmt: skip
    [rule] = [v for v in policy["spec"]["validations"] if "hostPath.path ==" in v["expression"]]
    assert f"v.hostPath.path == '{MOVED_STORE}'" in rule["expression"]
    assert rule["message"].endswith(f"may mount no hostPath but {MOVED_STORE}")


@pytest.mark.parametrize("values", CERTIFICATES, ids=["self-managed", "cert-manager"])
def test_nothing_names_the_default_namespace_or_store_once_both_are_moved(
    values: tuple[str, ...],
) -> None:
    rendered = _rendered_without_crds("createNamespace=true", "metrics.serviceMonitor.enabled=true",
                                      "registryCAConfigMap=corp-ca", *MOVED, *values,
                                      namespace=MOVED_NAMESPACE)  # fmt: skip
    stale = [line for line in rendered.splitlines()
             if NAMESPACE in line or "/var/lib/wasmgate" in line]  # fmt: skip
    assert stale == []
    assert rendered.count(MOVED_NAMESPACE) > 20


def test_the_default_values_pass_no_namespace_or_store_flag() -> None:
    workloads = _workloads(objects(helm_template()))
    args = [a for w in workloads.values() for c in _containers(w) for a in c.get("args", [])]
    assert [a for a in args if a.startswith(("--scheduler-namespace", "--node-store",
                                             "--secret-namespace"))] == []  # fmt: skip


REFUSED = [
    ("namespace-not-a-label", ("namespace=Team_A",), "at '/namespace'"),
    ("store-path-relative", ("agent.storePath=srv/wasm",), "at '/agent/storePath'"),
    ("store-path-with-a-quote", ("agent.storePath=/srv/wasm'store",), "at '/agent/storePath'"),
    ("store-path-root", ("agent.storePath=/srv/..",),
     'agent.storePath: "/srv/.." is the node\'s root directory; give the store a directory'),
    ("certificates", ("webhook.certificates=vault",),
     "at '/webhook/certificates': value must be one of 'selfManaged', 'certManager'"),
    ("misspelt-key", ("operator.replica=3",),
     "at '/operator': additional properties 'replica' not allowed"),
    ("issuer-without-cert-manager", ("webhook.certManager.issuerRef.name=corp-ca",),
     "webhook.certManager.issuerRef is set but webhook.certificates is selfManaged"),
    ("digest", ("image.digest=v1",), "at '/image/digest'"),
    ("extra-arg", ("agent.extraArgs={verbose}",), "at '/agent/extraArgs/0'"),
    ("mirror-without-target", ("registryMirrors={registry.example.com/team}",),
     "at '/registryMirrors/0'"),
    ("proxy-without-scheme", ("proxy.https=proxy.corp:3128",), "at '/proxy/https'"),
    ("ca-configmap-with-namespace", ("registryCAConfigMap=wasmgate-system/corp-ca",),
     "at '/registryCAConfigMap'"),
]  # fmt: skip


@pytest.mark.parametrize(("values", "message"), [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])  # fmt: skip
def test_values_the_operator_cannot_follow_are_refused(
    values: tuple[str, ...], message: str
) -> None:
    assert message in refusal(*values)
