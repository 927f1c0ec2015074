"""Caps on what verification reads, so a hostile registry cannot make it slow or large."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_SIGNATURES = 16
DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024
DEFAULT_MAX_BUNDLE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TrustSettings:
    """Limits for one verification."""

    max_signatures: int = DEFAULT_MAX_SIGNATURES
    """Most signature layers plus referrers examined; more is refused. Default 16."""
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    """Largest cosign simple-signing payload, in bytes. Default 64 KiB."""
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES
    """Largest sigstore bundle, in bytes. Default 1 MiB."""

    def __post_init__(self) -> None:
        for name in ("max_signatures", "max_payload_bytes", "max_bundle_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrustSettings.{name} must be at least 1")
