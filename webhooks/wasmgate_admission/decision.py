"""The answer of every admission check: allowed or not, the message, and warnings.

Checks are pure functions returning an `AdmissionDecision`, so the kopf glue only translates it
(raise `kopf.AdmissionError`, extend `warnings`) and every decision is testable without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AdmissionDecision:
    """Whether the apiserver should accept the request, and what the user reads."""

    allowed: bool
    denials: tuple[str, ...] = ()
    """One sentence per problem, each naming the field and the fix."""
    warnings: tuple[str, ...] = ()
    """Shown by kubectl as `Warning: ...` lines; the request is still admitted."""
    reason: str = ""
    """CamelCase cause of a denial, e.g. InvalidSpec or PolicyViolation."""

    @property
    def message(self) -> str:
        """The denial message the apiserver returns: every problem, separated by '; '."""
        return "; ".join(self.denials)


@dataclass
class Findings:
    """Collects denials and warnings while a review runs, then becomes an AdmissionDecision."""

    denials: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def deny(self, message: str, reason: str = "InvalidSpec") -> None:
        self.denials.append(message)
        self.reasons.append(reason)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def extend_warnings(self, messages: Iterable[str]) -> None:
        self.warnings.extend(messages)

    def decision(self) -> AdmissionDecision:
        return AdmissionDecision(
            allowed=not self.denials,
            denials=tuple(self.denials),
            warnings=tuple(self.warnings),
            reason=self.reasons[0] if self.reasons else "",
        )
