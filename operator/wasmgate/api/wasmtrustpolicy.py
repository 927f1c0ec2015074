"""WasmTrustPolicy: what the cluster admin demands of every plugin, whoever wrote the plugin.

Every policy applies to every WasmPlugin (all must pass). The admission webhook enforces them and
the operator enforces them again before anything reaches a node, because the webhook can be down
or bypassed and the operator cannot.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from wasmgate.api.base import ApiModel, Resource
from wasmgate.api.cel import Rule
from wasmgate.api.condition import Conditions
from wasmgate.api.formats import DNS_SUBDOMAIN_PATTERN, REASON_PATTERN, registry_glob_rule
from wasmgate.api.listtypes import MapList, SetList
from wasmgate.api.resource import AGE, KindInfo, PrinterColumn, condition_status_column
from wasmgate.api.signers import (
    TRUSTED_ROOT_NEEDS_KEYLESS,
    KeylessIdentities,
    SignerKeys,
    TrustedRoot,
)
from wasmgate.api.wasmplugin import MAX_MAX_SIZE, MIN_MAX_SIZE

MAX_ALLOWED_REGISTRIES = 64
MAX_VIOLATIONS = 50

_SIGNERS_NEED_SIGNATURES = Rule(
    rule="self.signatureRequired || ((!has(self.keys) || size(self.keys) == 0) && "
    "(!has(self.keyless) || size(self.keyless) == 0))",
    message="keys and keyless demand signatures, but signatureRequired is false; set "
    "signatureRequired to true or remove keys and keyless",
    check=lambda value: (
        value["signatureRequired"] or (not value.get("keys") and not value.get("keyless"))
    ),
    field_path=".signatureRequired",
)


class PolicyMode(StrEnum):
    """What happens to a plugin that breaks the policy."""

    ENFORCE = "Enforce"
    WARN = "Warn"


class WasmTrustPolicySpec(ApiModel):
    """Requirements every WasmPlugin must meet, on top of its own spec.verify."""

    cel_rules = (_SIGNERS_NEED_SIGNATURES, TRUSTED_ROOT_NEEDS_KEYLESS)

    mode: PolicyMode = Field(
        PolicyMode.ENFORCE,
        description="Enforce: a violating plugin is refused at admission and never rolled out. "
        "Warn: it is admitted with a warning and listed in status.violations, which lets you "
        "try a policy before enforcing it.",
    )
    allowed_registries: Annotated[
        list[
            Annotated[
                str,
                Field(min_length=1, max_length=255),
                registry_glob_rule("spec.allowedRegistries[*]"),
            ]
        ],
        Field(max_length=MAX_ALLOWED_REGISTRIES),
        SetList(),
    ] = Field(
        default_factory=list,
        description="Repositories plugins may come from, as globs over the whole registry/path: "
        "'*' matches within one path segment (in the registry host it may span dots: "
        "*.example.com/** admits a.b.example.com/x), '**' across segments, '?' one character, "
        "e.g. ghcr.io/acme/* (not ghcr.io/acme/team/x) or registry.example.com:5000/**. Empty: "
        "any registry.",
    )
    signature_required: bool = Field(
        True,
        description="Whether every plugin must carry a signature that verifies (against its "
        "own spec.verify, and against keys and keyless here when they are set).",
    )
    keys: SignerKeys = Field(
        default_factory=list,
        description="Public keys of which every plugin must carry a signature from at least "
        "one. Empty: the plugin's own spec.verify decides who may sign.",
    )
    keyless: KeylessIdentities = Field(
        default_factory=list,
        description="Keyless identities of which every plugin must carry a signature from at "
        "least one (together with keys: any one entry of either list suffices).",
    )
    trusted_root_ref: TrustedRoot = None
    max_size: int | None = Field(
        None,
        ge=MIN_MAX_SIZE,
        le=MAX_MAX_SIZE,
        description="Largest wasm module any plugin may have, in bytes; lowers a plugin's own "
        "spec.source.maxSize. Omit for no cluster-wide cap.",
    )


class Violation(ApiModel):
    """A plugin that breaks the policy."""

    plugin: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="WasmPlugin name.",
    )
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=REASON_PATTERN,
        description="CamelCase cause, e.g. PolicyViolation or SignatureMissing.",
    )
    message: str = Field(
        "", max_length=1024, description="What the plugin lacks and how to fix it."
    )


class WasmTrustPolicyStatus(ApiModel):
    """Whether the policy's own material loads, and which plugins break it."""

    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation of the spec this status describes."
    )
    violations: Annotated[
        list[Violation], Field(max_length=MAX_VIOLATIONS), MapList(keys=("plugin",))
    ] = Field(
        default_factory=list,
        description=f"Plugins that break the policy (in Warn mode, plugins that would be "
        f"refused); at most {MAX_VIOLATIONS} are listed.",
    )
    conditions: Conditions = Field(
        default_factory=list,
        description="Ready: every referenced key and trusted root loaded; in Kubernetes "
        "condition conventions.",
    )


class WasmTrustPolicy(Resource):
    """A cluster-wide requirement on every WasmPlugin: where it may come from, who must have
    signed it, how large it may be. All policies apply; each is enforced at admission and again
    by the operator."""

    kind: Literal["WasmTrustPolicy"] = Field(
        "WasmTrustPolicy", description="Always WasmTrustPolicy."
    )
    spec: WasmTrustPolicySpec = Field(
        default_factory=WasmTrustPolicySpec, description="What every plugin must satisfy."
    )
    status: WasmTrustPolicyStatus | None = Field(
        None, description="Whether the policy loaded, and which plugins break it."
    )


WASMTRUSTPOLICY = KindInfo(
    model=WasmTrustPolicy,
    plural="wasmtrustpolicies",
    short_names=("wtp",),
    written_by="cluster admins",
    printer_columns=(
        PrinterColumn(
            name="Mode",
            type="string",
            json_path=".spec.mode",
            description="Enforce or Warn.",
        ),
        PrinterColumn(
            name="Signatures",
            type="boolean",
            json_path=".spec.signatureRequired",
            description="Whether every plugin must be signed.",
        ),
        condition_status_column("Ready", "Ready", "Whether the policy's keys and root loaded."),
        AGE,
    ),
)
