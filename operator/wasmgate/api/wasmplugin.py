"""WasmPlugin: one WebAssembly scheduler plugin, where it comes from and who must have signed it.

The spec is what a plugin author or cluster operator writes; the status is the operator's record
of each pipeline step (resolve, verify, validate, stage, roll out), so a restarted operator
resumes where it stopped and `kubectl get wp` shows where every plugin stands.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from wasmgate.api.base import ApiModel, Resource
from wasmgate.api.cel import Rule
from wasmgate.api.formats import digest_rule, dns_subdomain_rule, image_rules
from wasmgate.api.listtypes import SetList
from wasmgate.api.refs import SecretRef
from wasmgate.api.resource import AGE, KindInfo, PrinterColumn, condition_status_column
from wasmgate.api.signers import (
    TRUSTED_ROOT_NEEDS_KEYLESS,
    KeylessIdentities,
    SignerKeys,
    TrustedRoot,
)
from wasmgate.api.wasmplugin_status import WasmPluginStatus

KIB = 1024
MIB = 1024 * KIB
MAX_IMAGE_LENGTH = 512
DEFAULT_MAX_SIZE = 16 * MIB
MIN_MAX_SIZE = 1 * KIB
MAX_MAX_SIZE = 128 * MIB
DEFAULT_SCHEDULER = "wasmgate-scheduler"
MAX_SCHEDULERS = 16
MAX_GUEST_CONFIG_BYTES = 64 * KIB
DEFAULT_WEIGHT = 1
MAX_WEIGHT = 100
DEFAULT_FUEL = 100_000_000
MIN_FUEL = 10_000
MAX_FUEL = 10_000_000_000
WASM_PAGE_SIZE = 64 * KIB
DEFAULT_MEMORY_PAGES = 1024  # 64 MiB
MAX_MEMORY_PAGES = 16384  # 1 GiB
DEFAULT_CALL_TIMEOUT_MS = 100
MAX_CALL_TIMEOUT_MS = 10_000
DEFAULT_START_TIMEOUT_MS = 1000
MAX_START_TIMEOUT_MS = 60_000


class PullPolicy(StrEnum):
    """When wasmgate resolves spec.source.image to a digest again."""

    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"


class LogSeverity(StrEnum):
    """Lowest guest log severity the scheduler prints."""

    INFO = "Info"
    WARNING = "Warning"
    ERROR = "Error"
    FATAL = "Fatal"


# The integer kube-scheduler-wasm-extension's PluginConfig.logSeverity expects.
LOG_SEVERITY_LEVELS: dict[LogSeverity, int] = {
    LogSeverity.INFO: 0,
    LogSeverity.WARNING: 1,
    LogSeverity.ERROR: 2,
    LogSeverity.FATAL: 3,
}

_DIGEST_MATCHES_IMAGE = Rule(
    rule="!has(self.digest) || !self.image.contains('@') || self.image.endsWith('@' + self.digest)",
    message="spec.source.digest differs from the digest in spec.source.image; make them equal or "
    "remove one of them",
    check=lambda value: (
        "digest" not in value
        or "@" not in value["image"]
        or value["image"].endswith("@" + value["digest"])
    ),
    field_path=".digest",
)
_VERIFY_NOT_EMPTY = Rule(
    rule="(has(self.keys) && size(self.keys) > 0) || (has(self.keyless) && size(self.keyless) > 0)",
    message="spec.verify lists no key and no keyless identity; add one, or remove spec.verify to "
    "rely on the cluster's WasmTrustPolicy alone",
    check=lambda value: bool(value.get("keys")) or bool(value.get("keyless")),
)
_GUEST_CONFIG_BYTES = Rule(
    rule=f"size(bytes(self)) <= {MAX_GUEST_CONFIG_BYTES}",
    message=f"spec.scheduler.guestConfig is larger than {MAX_GUEST_CONFIG_BYTES} bytes (UTF-8); "
    "move bulky data into the plugin or shrink it",
    check=lambda value: len(value.encode()) <= MAX_GUEST_CONFIG_BYTES,
)


class Source(ApiModel):
    """Where the plugin comes from: an OCI artifact in a registry."""

    cel_rules = (_DIGEST_MATCHES_IMAGE,)

    image: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_IMAGE_LENGTH,
            description="OCI reference of the plugin artifact, with a tag or a digest, e.g. "
            "ghcr.io/acme/spread-filter:v1.2.0 or ghcr.io/acme/spread-filter@sha256:<hex>. "
            "Accepted layouts: CNCF wasm artifacts (application/wasm layer), single-layer oras "
            "pushes, and images whose last layer holds plugin.wasm. A tag is resolved to a "
            "digest once and pinned in status.digest.",
        ),
        *image_rules("spec.source.image"),
    ]
    digest: Annotated[str, Field(max_length=71), digest_rule("spec.source.digest")] | None = Field(
        None,
        description="Manifest digest the resolved image must have, e.g. sha256:3f8b...; a tag "
        "that now points elsewhere fails with DigestMismatch. Omit to trust the tag.",
    )
    pull_secret_ref: SecretRef | None = Field(
        None,
        description="Secret of type kubernetes.io/dockerconfigjson with credentials for the "
        "registry. Omit for anonymous pulls.",
    )
    pull_policy: PullPolicy = Field(
        PullPolicy.IF_NOT_PRESENT,
        description="IfNotPresent: resolve a tag once and keep that digest until the spec "
        "changes. Always: resolve the tag again on every resync, so a moved tag goes through "
        "verification, validation and staging before it reaches the scheduler.",
    )
    max_size: int = Field(
        DEFAULT_MAX_SIZE,
        ge=MIN_MAX_SIZE,
        le=MAX_MAX_SIZE,
        description="Largest wasm module accepted, in bytes; bigger artifacts fail with "
        f"ArtifactTooLarge before they are downloaded in full. At most {MAX_MAX_SIZE} "
        "(128 MiB); a cluster WasmTrustPolicy may set a lower cap.",
    )


class Verify(ApiModel):
    """Signers this plugin accepts: a signature from any one of them is enough."""

    cel_rules = (_VERIFY_NOT_EMPTY, TRUSTED_ROOT_NEEDS_KEYLESS)

    keys: SignerKeys = Field(
        default_factory=list,
        description="Public keys (cosign key pairs); a signature made with any of them passes.",
    )
    keyless: KeylessIdentities = Field(
        default_factory=list,
        description="Keyless identities (sigstore/Fulcio certificates); a signature whose "
        "certificate names any of them passes.",
    )
    trusted_root_ref: TrustedRoot = None


class SchedulerSettings(ApiModel):
    """How the schedulers load the plugin."""

    schedulers: Annotated[
        list[
            Annotated[
                str,
                Field(min_length=1, max_length=253),
                dns_subdomain_rule("spec.scheduler.schedulers[*]", DEFAULT_SCHEDULER),
            ]
        ],
        Field(min_length=1, max_length=MAX_SCHEDULERS),
        SetList(),
    ] = Field(
        default_factory=lambda: [DEFAULT_SCHEDULER],
        description="Names of the WasmScheduler objects that load this plugin.",
    )
    guest_config: (
        Annotated[str, Field(max_length=MAX_GUEST_CONFIG_BYTES), _GUEST_CONFIG_BYTES] | None
    ) = Field(
        None,
        description="String handed to the guest as its configuration (the plugin's "
        "guestConfig); its format is the plugin's own, often JSON, e.g. "
        '{"zone":"eu-1"}. At most 64 KiB.',
    )
    log_severity: LogSeverity = Field(
        LogSeverity.INFO,
        description="Lowest severity of guest log lines the scheduler prints: Info, Warning, "
        "Error or Fatal.",
    )
    weight: int = Field(
        DEFAULT_WEIGHT,
        ge=1,
        le=MAX_WEIGHT,
        description="Weight of the plugin's scores against the scheduler's other score plugins; "
        "used only if the plugin exports score.",
    )


class Limits(ApiModel):
    """Budgets for the dry run wasmgate performs before rollout; the scheduler does not enforce
    them, so keep them close to what a real scheduling cycle may spend."""

    fuel: int = Field(
        DEFAULT_FUEL,
        ge=MIN_FUEL,
        le=MAX_FUEL,
        description="Wasmtime fuel (roughly one unit per wasm instruction) one extension-point "
        "call, or instantiation with _start, may consume; running out fails with DryRunTrapped.",
    )
    memory_pages: int = Field(
        DEFAULT_MEMORY_PAGES,
        ge=1,
        le=MAX_MEMORY_PAGES,
        description="Linear memory the guest is expected to stay within, in 64 KiB wasm pages "
        "(1024 pages = 64 MiB). Upstream's scheduler sets no memory limit, so a guest that "
        "declares or grows past it gets a warning in status.validation.warnings, not a refusal.",
    )
    call_timeout_ms: int = Field(
        DEFAULT_CALL_TIMEOUT_MS,
        ge=1,
        le=MAX_CALL_TIMEOUT_MS,
        description="Wall-clock budget of one extension-point call, in milliseconds.",
    )
    start_timeout_ms: int = Field(
        DEFAULT_START_TIMEOUT_MS,
        ge=1,
        le=MAX_START_TIMEOUT_MS,
        description="Wall-clock budget of compiling, instantiating and running _start, in "
        "milliseconds.",
    )


class WasmPluginSpec(ApiModel):
    """What the plugin is, who must have signed it, and how schedulers load it."""

    source: Source = Field(description="Where the plugin comes from.")
    verify: Verify | None = Field(
        None,
        description="Signers this plugin accepts, in addition to what every WasmTrustPolicy "
        "demands. Omit to rely on the cluster's WasmTrustPolicy alone.",
    )
    scheduler: SchedulerSettings = Field(
        default_factory=SchedulerSettings,
        description="Which WasmSchedulers load the plugin and with what configuration.",
    )
    limits: Limits = Field(
        default_factory=Limits,
        description="Budgets of the dry run that validates the plugin before rollout.",
    )


class WasmPlugin(Resource):
    """A WebAssembly plugin for kube-scheduler-wasm-extension. wasmgate resolves its image to a
    digest, verifies its signatures, validates the module, stages it on the scheduler nodes and
    rolls it out to the named WasmSchedulers; the object name is the plugin name in the
    scheduler configuration."""

    kind: Literal["WasmPlugin"] = Field("WasmPlugin", description="Always WasmPlugin.")
    spec: WasmPluginSpec = Field(description="The plugin and how to load it.")
    status: WasmPluginStatus | None = Field(
        None, description="Progress of the plugin through wasmgate's pipeline."
    )


WASMPLUGIN = KindInfo(
    model=WasmPlugin,
    plural="wasmplugins",
    short_names=("wp",),
    written_by="plugin authors and cluster operators",
    printer_columns=(
        PrinterColumn(
            name="Phase",
            type="string",
            json_path=".status.phase",
            description="Pipeline step the plugin is in, or Ready, or Failed.",
        ),
        condition_status_column("Verified", "Verified", "Whether a trusted signature verified."),
        PrinterColumn(
            name="Staged",
            type="string",
            json_path=".status.staging.summary",
            description="Nodes holding the verified plugin / nodes that need it.",
        ),
        PrinterColumn(
            name="Digest",
            type="string",
            json_path=".status.shortDigest",
            description="First 12 hex digits of the resolved manifest digest.",
        ),
        AGE,
        PrinterColumn(
            name="Image",
            type="string",
            json_path=".spec.source.image",
            description="Reference the plugin comes from.",
            priority=1,
        ),
        PrinterColumn(
            name="Mirror",
            type="string",
            json_path=".status.source.mirror",
            description="Registry mirror the plugin was read from, if any.",
            priority=1,
        ),
    ),
    selectable_fields=(".status.phase",),
)
