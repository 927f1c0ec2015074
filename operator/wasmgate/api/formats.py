"""String formats users type into wasmgate objects, each with a message that names the fix.

Kubernetes reports an OpenAPI `pattern` failure as "should match '^[a-z0-9]...'", which tells an
operator nothing. These formats are CEL rules instead, so the apiserver and the models answer
with the same sentence: what the field must look like and an example. Every pattern is anchored,
because CEL's `matches` searches like Python's `re.search`, and uses only syntax that RE2 (the
apiserver) and Python's `re` read the same way. Status fields the operator writes use plain
`pattern` constraints: no person needs a message there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from wasmgate.api.cel import Rule

DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$"
DNS_SUBDOMAIN_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SECRET_KEY_PATTERN = "^[-._a-zA-Z0-9]+$"  # noqa: S105 (a key name format, not a secret)
# A condition or error reason: CamelCase, as metav1.Condition requires.
REASON_PATTERN = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
# The reference grammar of the OCI distribution spec ("docker reference"), sha256 digests only.
_DOMAIN_PART = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = f"{_DOMAIN_PART}(?:[.]{_DOMAIN_PART})*(?::[0-9]+)?"
_PATH_PART = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_PATTERN = (
    f"^(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*(?::{_TAG})?(?:@sha256:[a-f0-9]{{64}})?$"
)
# Given a valid reference, a tag is a ':' whose suffix holds no '/'; a digest follows '@'.
_ENDS_WITH_TAG = ":[A-Za-z0-9_][A-Za-z0-9_.-]*$"
REGISTRY_GLOB_PATTERN = "^[A-Za-z0-9*?]([-A-Za-z0-9._:/*?]*[A-Za-z0-9*?])?$"
# Label keys and values (Kubernetes "qualified names"), checked in Python only: see below.
_LABEL_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_KEY_PATTERN = f"^({DNS_SUBDOMAIN_PATTERN[1:-1]}/)?{_LABEL_NAME}$"
LABEL_VALUE_PATTERN = f"^({_LABEL_NAME})?$"
MAX_LABEL_KEY_LENGTH = 317  # 253 for the prefix, '/', 63 for the name
# The longest free-text detail (a reason, a warning, an identity) the operator writes to status.
MAX_DETAIL_LENGTH = 1024

Digest = Annotated[str, Field(max_length=71, pattern=DIGEST_PATTERN)]
"""A sha256 digest as status records it: the operator writes it, so a pattern is enough."""


def _matches(pattern: str, message: str) -> Rule:
    """The rule `self.matches(pattern)` with its Python twin (`re.search`, as CEL does)."""
    compiled = re.compile(pattern)
    return Rule(
        rule=f"self.matches('{pattern}')",
        message=message,
        check=lambda value: isinstance(value, str) and compiled.search(value) is not None,
    )


def digest_rule(field: str) -> Rule:
    """`field` must be a sha256 digest."""
    return _matches(
        DIGEST_PATTERN,
        f'{field} must be "sha256:" followed by 64 lowercase hex digits, '
        "as printed by `oras resolve` or `crane digest`",
    )


def image_rules(field: str) -> tuple[Rule, Rule]:
    """`field` must be an OCI reference, and carry a tag or a digest (never implicit :latest)."""
    valid = _matches(
        IMAGE_PATTERN,
        f'{field} must be an OCI reference such as "ghcr.io/acme/plugin:v1" or '
        '"ghcr.io/acme/plugin@sha256:<64 hex digits>" (lowercase repository, sha256 digests only)',
    )
    ends_with_tag = re.compile(_ENDS_WITH_TAG)
    pinned = Rule(
        rule=f"self.contains('@') || self.matches('{_ENDS_WITH_TAG}')",
        message=f'{field} has no tag or digest; add ":v1" (a tag) or "@sha256:..." (a digest)',
        check=lambda value: "@" in value or ends_with_tag.search(value) is not None,
    )
    return valid, pinned


def dns_subdomain_rule(field: str, example: str) -> Rule:
    """`field` must be a Kubernetes object name (RFC 1123 subdomain)."""
    return _matches(
        DNS_SUBDOMAIN_PATTERN,
        f"{field} must be a lowercase RFC 1123 name (a-z, 0-9, '-', '.'; starting and ending "
        f"with a letter or digit), e.g. {example}",
    )


def dns_label_rule(field: str, example: str) -> Rule:
    """`field` must be a namespace name (RFC 1123 label)."""
    return _matches(
        DNS_LABEL_PATTERN,
        f"{field} must be a lowercase RFC 1123 label (a-z, 0-9, '-'; starting and ending with "
        f"a letter or digit, at most 63 characters), e.g. {example}",
    )


def secret_key_rule(field: str, example: str) -> Rule:
    """`field` must be a key of a Secret's data."""
    return _matches(
        SECRET_KEY_PATTERN,
        f"{field} must be a Secret data key (letters, digits, '-', '_', '.'), e.g. {example}",
    )


def registry_glob_rule(field: str) -> Rule:
    """`field` must be a repository glob."""
    return _matches(
        REGISTRY_GLOB_PATTERN,
        f'{field} must be a repository glob such as "ghcr.io/acme/*" or "registry.example.com/**" '
        "(letters, digits, '.', '_', '-', ':', '/' and the wildcards '*', '**', '?')",
    )


def label_keys_rule(field: str) -> Rule:
    """Every key of the map `field` is at most a label key long.

    Only the length is a CEL rule: the apiserver bounds the cost of every rule up front, and map
    keys have no declared length, so a regular expression over them would be refused as too
    expensive. The key format is checked by `check_label_map` in Python (admission).
    """
    return Rule(
        rule=f"self.all(k, size(k) <= {MAX_LABEL_KEY_LENGTH})",
        message=f"{field} keys must be at most {MAX_LABEL_KEY_LENGTH} characters long",
        check=lambda value: all(len(key) <= MAX_LABEL_KEY_LENGTH for key in value),
    )


def check_label_map(labels: Mapping[str, Any]) -> Mapping[str, Any]:
    """Refuse label keys and values Kubernetes would refuse on the Deployment we render."""
    for key, value in labels.items():
        if re.fullmatch(LABEL_KEY_PATTERN, key) is None or len(key.rpartition("/")[2]) > 63:
            raise ValueError(
                f'{key!r} is not a label key; use "name" or "prefix.example.com/name" '
                "(name: at most 63 letters, digits, '-', '_', '.')"
            )
        if re.fullmatch(LABEL_VALUE_PATTERN, value) is None:
            raise ValueError(
                f"{value!r} (for {key!r}) is not a label value: at most 63 letters, digits, "
                "'-', '_', '.', starting and ending with a letter or digit"
            )
    return labels


def check_regexp(pattern: str) -> str:
    """Refuse a regular expression that does not compile."""
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {e}") from e
    return pattern
