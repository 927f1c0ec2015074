"""The one error hierarchy of wasmgate.

Every failure that reaches a status condition is a `WasmgateError`: its `reason` is exactly the
condition reason and the metric label, and `permanent` tells the reconciler whether to wait for
a spec change (permanent) or retry with backoff (temporary). Messages name the field and the fix.
"""

from __future__ import annotations


class WasmgateError(Exception):
    """Base class: a failure with a condition reason and a retry class."""

    reason: str = "InternalError"
    permanent: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidSpec(WasmgateError):
    """The object's spec cannot work as written; the user must change it."""

    reason = "InvalidSpec"
    permanent = True


class KubernetesApiUnavailable(WasmgateError):
    """The Kubernetes API did not answer a request, or refused it; retried with backoff.

    The runner raises it in place of the client library's ApiException, so the pure packages
    handle an API failure without importing the client; `status` is the HTTP status, if any."""

    reason = "KubernetesApiUnavailable"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegistryUnavailable(WasmgateError):
    """The registry could not be reached or answered 5xx; retried with backoff."""

    reason = "RegistryUnavailable"


class RegistryAuthFailed(WasmgateError):
    """The registry refused our credentials (401/403)."""

    reason = "RegistryAuthFailed"
    permanent = True


class ArtifactNotFound(WasmgateError):
    """The reference names no manifest in the registry."""

    reason = "ArtifactNotFound"
    permanent = True


class ArtifactInvalid(WasmgateError):
    """The manifest or its layers do not form a wasm plugin artifact we accept."""

    reason = "ArtifactInvalid"
    permanent = True


class ArtifactTooLarge(WasmgateError):
    """A manifest, blob or count exceeded its cap."""

    reason = "ArtifactTooLarge"
    permanent = True


class DigestMismatch(WasmgateError):
    """Bytes did not hash to the digest that named them."""

    reason = "DigestMismatch"
    permanent = True


class SignatureMissing(WasmgateError):
    """No signature was found for the resolved digest."""

    reason = "SignatureMissing"
    permanent = True


class SignatureInvalid(WasmgateError):
    """Signatures exist but none satisfies the plugin's and the cluster's policy."""

    reason = "SignatureInvalid"
    permanent = True


class SignatureUntrusted(SignatureInvalid):
    """Signatures for this digest exist, but none was made by a key the policy trusts."""

    reason = "SignatureUntrusted"


class SignatureDigestMismatch(SignatureInvalid):
    """A signature's payload names another manifest digest (copied or replayed)."""

    reason = "SignatureDigestMismatch"


class SignatureIdentityMismatch(SignatureInvalid):
    """A signature's payload names another repository (replayed across repositories)."""

    reason = "SignatureIdentityMismatch"


class SignatureLimitExceeded(SignatureInvalid):
    """More signatures or referrers than the cap, or one larger than the size cap."""

    reason = "SignatureLimitExceeded"


class PolicyViolation(WasmgateError):
    """The cluster WasmTrustPolicy forbids this plugin."""

    reason = "PolicyViolation"
    permanent = True


class WasmInvalid(WasmgateError):
    """The bytes are not a valid core WebAssembly module within our caps."""

    reason = "WasmInvalid"
    permanent = True


class AbiMismatch(WasmgateError):
    """The module does not match the kube-scheduler-wasm-extension guest ABI."""

    reason = "AbiMismatch"
    permanent = True


class DryRunTrapped(WasmgateError):
    """The module trapped or exhausted a limit during the dry run."""

    reason = "DryRunTrapped"
    permanent = True


class DryRunErrorStatus(WasmgateError):
    """Every call of an extension point in the dry run answered the framework status Error:
    the scheduler would fail each pod this plugin sees (typically a guestConfig it rejects)."""

    reason = "DryRunErrorStatus"
    permanent = True


class StagingFailed(WasmgateError):
    """A node could not stage a digest."""

    reason = "StagingFailed"


class RolloutFailed(WasmgateError):
    """The scheduler did not become healthy with the new configuration; rolled back."""

    reason = "RolloutFailed"
    permanent = True


class StoreFull(StagingFailed):
    """The node store has no room for a blob under its size cap; retried when space frees."""

    reason = "StoreFull"
