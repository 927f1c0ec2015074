"""Verify Ed25519ph signatures (RFC 8032 section 5.1), which `cryptography` does not offer.

cosign signs with Ed25519ph by default for Ed25519 keys (sigstore's hashedrekord needs a
pre-hash), so without this a user's Ed25519 cosign key could never verify. Only verification
is implemented: it handles public data only, so plain integer arithmetic is fine. The same
routine in pure mode is tested against `cryptography`'s Ed25519 to prove the curve arithmetic.
"""

from __future__ import annotations

import hashlib

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
# dom2(phflag=1, context="") from RFC 8032 section 2.
DOM2_PH = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])

Point = tuple[int, int, int, int]


def _add(p: Point, q: Point) -> Point:
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _decode(encoded: bytes) -> Point | None:
    if len(encoded) != 32:
        return None
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * _SQRT_M1 % _P
    elif v * x * x % _P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def _encode(point: Point) -> bytes:
    x, y, z, _ = point
    inverse = pow(z, _P - 2, _P)
    x, y = x * inverse % _P, y * inverse % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BASE = _decode((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))


def verify_eddsa(public_key: bytes, signature: bytes, prefix: bytes, message: bytes) -> bool:
    """RFC 8032 verification with a domain prefix: `b""` is pure Ed25519, DOM2_PH is Ed25519ph
    (where `message` must already be the SHA-512 of the data)."""
    if len(signature) != 64 or _BASE is None:
        return False
    a = _decode(public_key)
    s = int.from_bytes(signature[32:], "little")
    if a is None or s >= _L or _decode(signature[:32]) is None:
        return False
    k = hashlib.sha512(prefix + signature[:32] + public_key + message).digest()
    k_int = int.from_bytes(k, "little") % _L
    # R' = [S]B - [k]A, compared by encoding as Go's crypto/ed25519 does (cofactorless).
    x, y, z, t = _multiply(k_int, a)
    candidate = _add(_multiply(s, _BASE), ((_P - x) % _P, y, z, (_P - t) % _P))
    return _encode(candidate) == signature[:32]


def verify_ed25519ph(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is an Ed25519ph signature of `data` by `public_key` (raw 32 bytes)."""
    return verify_eddsa(public_key, signature, DOM2_PH, hashlib.sha512(data).digest())
