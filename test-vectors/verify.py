#!/usr/bin/env python3
"""Independent implementation of kinseal protocol version 1, suite 0x01.

Written from docs/PROTOCOL.md and test-vectors/README.md alone (no Rust
source was read), it recomputes every known-answer vector in this folder:

    python3 -m venv /tmp/kv && /tmp/kv/bin/pip install -r test-vectors/requirements.txt
    /tmp/kv/bin/python test-vectors/verify.py

The `cryptography` package provides X25519, Ed25519 signing, ChaCha20-Poly1305
and ML-KEM-768 key generation / decapsulation.  Everything the spec requires
beyond those (strict Ed25519 verification, identity-key validation, the
Edwards-to-Montgomery map, the X25519 and ML-KEM key checks, and the
deterministic ML-KEM-768 Encaps_internal(ek, m) that the library does not
expose) is written here in pure Python from RFC 8032, RFC 7748 and FIPS 203.
HKDF is written from RFC 5869 on top of `hmac`/`hashlib`.

Each function is labelled with the PROTOCOL.md section it implements.

conversation.json lists every send, delivery, record checkpoint and restore
as an event; check_conversation() replays them in order.  Error kinds follow
the PROTOCOL.md §9 table and the §4 order of checks; a rejection with another
kind than a vector names is a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# §1 Conventions
# ---------------------------------------------------------------------------

SIG_SPK = b"KINSEAL-v1 signed prekey\0"
SIG_KEM = b"KINSEAL-v1 KEM prekey\0"
TRANSCRIPT = b"KINSEAL-v1 transcript\0"
HANDSHAKE_INFO = b"KINSEAL-v1 X25519 ML-KEM-768 SHA-256\0"
SESSION_AD = b"KINSEAL-v1 session AD\0"
BOUND_ADDRESSES = b"KINSEAL-v1 bound addresses\0"
MAX_CONTEXT_LEN = 1024  # §6
ROOT_INFO = b"KINSEAL-v1 root\0"
HEADER_TAG = b"KINSEAL-v1 header tag\0"
MESSAGE_KEY_INFO = b"KINSEAL-v1 message key\0"
HANDSHAKE_ID = b"KINSEAL-v1 handshake id\0"

VERSION = 0x01
SUITE = 0x01
U32_MAX = 2**32 - 1


def u8(v: int) -> bytes:
    return bytes([v])


def u32(v: int) -> bytes:
    return v.to_bytes(4, "big")


def u64(v: int) -> bytes:
    return v.to_bytes(8, "big")


def flag(b: bool) -> bytes:
    return b"\x01" if b else b"\x00"


class ProtocolError(Exception):
    """A rejection; `kind` is an error kind of the PROTOCOL.md §9 table.  Names
    outside it are this script's own: UnknownPrekey / Replay for the account
    layer's §6.4 step 2 errors, and NoSession / OtherSession for input the
    one-session-per-party conversation model cannot route (§8.2); Upload /
    UploadInvalidKey for the prekey upload's own refusals (SERVER.md §2.2)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


# ---------------------------------------------------------------------------
# §2 Primitives
# ---------------------------------------------------------------------------


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def sha512(b: bytes) -> bytes:
    return hashlib.sha512(b).digest()


def hmac256(k: bytes, m: bytes) -> bytes:
    return hmac.new(k, m, hashlib.sha256).digest()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:  # RFC 5869 §2.2
    return hmac256(salt, ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:  # RFC 5869 §2.3
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac256(prk, t + info + u8(i))
        out += t
        i += 1
    return out[:length]


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def x25519(k: bytes, u: bytes) -> bytes:
    """RFC 7748 X25519 with clamping; returns the raw output (may be zero)."""
    try:
        return X25519PrivateKey.from_private_bytes(k).exchange(
            X25519PublicKey.from_public_bytes(u)
        )
    except ValueError:
        # The library refuses an all-zero output; report it as such.
        return bytes(32)


def x25519_base(k: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(k).public_key().public_bytes_raw()


def dh(a: bytes, B: bytes) -> bytes:
    """§3.4: X25519, rejecting the all-zero output (§9: NonContributoryKey)."""
    out = x25519(a, B)
    if out == bytes(32):
        raise ProtocolError("NonContributoryKey", "all-zero DH output")
    return out


def aead_seal(key: bytes, nonce: bytes, ad: bytes, pt: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(nonce, pt, ad)


def aead_open(key: bytes, nonce: bytes, ad: bytes, ct: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ct, ad)
    except InvalidTag:
        raise ProtocolError("DecryptionFailed", "AEAD") from None


# ---------------------------------------------------------------------------
# Edwards25519 arithmetic, pure Python (RFC 8032 §5.1)
# ---------------------------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
ED_D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x: int) -> int:
    return pow(x, P - 2, P)


def ed_add(Pt, Qt):
    X1, Y1, Z1, T1 = Pt
    X2, Y2, Z2, T2 = Qt
    A = (Y1 - X1) * (Y2 - X2) % P
    B = (Y1 + X1) * (Y2 + X2) % P
    C = 2 * T1 * T2 * ED_D % P
    D = 2 * Z1 * Z2 % P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


ED_IDENTITY = (0, 1, 1, 0)


def ed_mul(s: int, Pt):
    Q = ED_IDENTITY
    while s > 0:
        if s & 1:
            Q = ed_add(Q, Pt)
        Pt = ed_add(Pt, Pt)
        s >>= 1
    return Q


def ed_neg(Pt):
    X, Y, Z, T = Pt
    return ((-X) % P, Y, Z, (-T) % P)


def ed_is_identity(Pt) -> bool:
    X, Y, Z, _ = Pt
    return X % P == 0 and (Y - Z) % P == 0


def ed_encode(Pt) -> bytes:
    X, Y, Z, _ = Pt
    zi = _inv(Z)
    x, y = X * zi % P, Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _recover_x(y: int, sign: int, lenient: bool) -> Optional[int]:
    u = (y * y - 1) % P
    v = (ED_D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    vx2 = v * x * x % P
    if vx2 == (-u) % P and vx2 != u:
        x = x * SQRT_M1 % P
    elif vx2 != u:
        return None
    if x == 0 and sign:
        return 0 if lenient else None
    if (x & 1) != sign:
        x = P - x
    return x


def ed_decode(b: bytes, reduce_y: bool = False):
    """RFC 8032 §5.1.3, strict by default (§3.1 item 1: y < p, and no sign
    bit when x = 0).  With reduce_y it behaves like the lenient libraries of
    the §3.1 note (y taken modulo p, x = 0 with the sign bit accepted)."""
    if len(b) != 32:
        return None
    n = int.from_bytes(b, "little")
    sign, y = n >> 255, n & ((1 << 255) - 1)
    if y >= P:
        if not reduce_y:
            return None
        y %= P
    x = _recover_x(y, sign, reduce_y)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


ED_BASE = ed_decode(
    (4 * pow(5, P - 2, P) % P).to_bytes(32, "little")
)  # B: y = 4/5, x even


def ed_small_order(Pt) -> bool:
    return ed_is_identity(ed_mul(8, Pt))


# Subgroup membership (§3.1 item 3, §3.2), from the definitions: the group of
# edwards25519 (and of Curve25519) has order 8·L; a point is in the subgroup
# of prime order L exactly when [L]P is the neutral element.


def ed_in_prime_subgroup(Pt) -> bool:
    return ed_is_identity(ed_mul(L, Pt))


MONT_A = 486662  # Curve25519: v^2 = u^3 + A·u^2 + u over GF(p)


def mont_on_curve(u: int) -> bool:
    """Whether some v in GF(p) satisfies v^2 = u^3 + A u^2 + u (Euler's
    criterion); if not, u is the u-coordinate of a point on the twist."""
    rhs = (u * u * u + MONT_A * u * u + u) % P
    return rhs == 0 or pow(rhs, (P - 1) // 2, P) == 1


def mont_mul_xz(k: int, u: int):
    """[k]P for a point with u-coordinate u, as projective (X : Z), by the
    x-only Montgomery ladder of RFC 7748 §5 without clamping; Z = 0 is the
    point at infinity (the neutral element)."""
    a24 = (MONT_A - 2) // 4
    x2, z2, x3, z3 = 1, 0, u, 1
    for t in reversed(range(k.bit_length())):
        if (k >> t) & 1:
            x2, z2, x3, z3 = x3, z3, x2, z2
        a, b, c, d = x2 + z2, x2 - z2, x3 + z3, x3 - z3
        aa, bb = a * a % P, b * b % P
        e = aa - bb
        da, cb = d * a % P, c * b % P
        x3, z3 = (da + cb) ** 2 % P, u * (da - cb) ** 2 % P
        x2, z2 = aa * bb % P, e * (aa + a24 * e) % P
        if (k >> t) & 1:
            x2, z2, x3, z3 = x3, z3, x2, z2
    return x2 % P, z2 % P


def x25519_in_prime_subgroup(k: bytes) -> bool:
    """A canonical u (§3.2) names a point of order L: on the curve (not the
    twist), not u = 0 (the point of order 2, also how X25519 writes the
    neutral element), and [L]P = O."""
    u = int.from_bytes(k, "little")
    if u == 0 or not mont_on_curve(u):
        return False
    return mont_mul_xz(L, u)[1] == 0


# ---------------------------------------------------------------------------
# §3.1 Identity keys
# ---------------------------------------------------------------------------


def identity_public(sk: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()


def identity_x25519_private(sk: bytes) -> bytes:
    return sha512(sk)[:32]


def validate_identity_key(ik: bytes):
    """§3.1 items 1-3; returns the decoded point."""
    Pt = ed_decode(ik)  # item 1: strict decoding, canonical encodings only
    if Pt is None:
        raise ProtocolError("InvalidKey", "identity key not a canonical point encoding")
    if ed_encode(Pt) != ik:  # the §3.1 note's re-encoding check (redundant here)
        raise ProtocolError("InvalidKey", "identity key encoding not canonical")
    if ed_small_order(Pt):
        raise ProtocolError("InvalidKey", "identity key of small order")
    if not ed_in_prime_subgroup(Pt):  # item 3: no small-order component
        raise ProtocolError("InvalidKey", "identity key not in the prime-order subgroup")
    return Pt


def montgomery_u(ik: bytes) -> bytes:
    """U(IK) = (1 + y) / (1 - y) mod p, 32 bytes little-endian."""
    y = (int.from_bytes(ik, "little") & ((1 << 255) - 1)) % P
    return ((1 + y) * _inv((1 - y) % P) % P).to_bytes(32, "little")


# ---------------------------------------------------------------------------
# §3.2 X25519 public keys
# ---------------------------------------------------------------------------


def validate_x25519_canonical(k: bytes) -> None:
    """§3.2 item 1: the encoding alone (what decoding a Message checks)."""
    if len(k) != 32:
        raise ProtocolError("InvalidKey", "X25519 key length")
    if k[31] & 0x80:
        raise ProtocolError("InvalidKey", "X25519 key with the top bit set")
    if int.from_bytes(k, "little") >= P:
        raise ProtocolError("InvalidKey", "X25519 key >= p")


def validate_x25519_public(k: bytes) -> None:
    """§3.2 items 1 and 2: the encoding and the prime-order subgroup."""
    validate_x25519_canonical(k)
    if not x25519_in_prime_subgroup(k):
        raise ProtocolError("InvalidKey", "X25519 key not of a point of order L")


# ---------------------------------------------------------------------------
# §3.3 ML-KEM-768 (FIPS 203), pure Python for Encaps_internal and checks
# ---------------------------------------------------------------------------

KQ, KK, ETA1, ETA2, DU, DV = 3329, 3, 2, 2, 10, 4
EK_LEN, CT_LEN = 384 * KK + 32, 32 * (DU * KK + DV)
assert (EK_LEN, CT_LEN) == (1184, 1088)


def _bitrev7(i: int) -> int:
    return int(f"{i:07b}"[::-1], 2)


_ZETAS = [pow(17, _bitrev7(i), KQ) for i in range(128)]
_GAMMAS = [pow(17, 2 * _bitrev7(i) + 1, KQ) for i in range(128)]


def _ntt(f):
    f = list(f)
    i, ln = 1, 128
    while ln >= 2:
        for start in range(0, 256, 2 * ln):
            z = _ZETAS[i]
            i += 1
            for j in range(start, start + ln):
                t = z * f[j + ln] % KQ
                f[j + ln] = (f[j] - t) % KQ
                f[j] = (f[j] + t) % KQ
        ln //= 2
    return f


def _intt(f):
    f = list(f)
    i, ln = 127, 2
    while ln <= 128:
        for start in range(0, 256, 2 * ln):
            z = _ZETAS[i]
            i -= 1
            for j in range(start, start + ln):
                t = f[j]
                f[j] = (t + f[j + ln]) % KQ
                f[j + ln] = z * (f[j + ln] - t) % KQ
        ln *= 2
    return [x * 3303 % KQ for x in f]


def _mul_ntt(f, g):
    h = [0] * 256
    for i in range(128):
        a0, a1, b0, b1 = f[2 * i], f[2 * i + 1], g[2 * i], g[2 * i + 1]
        h[2 * i] = (a0 * b0 + a1 * b1 * _GAMMAS[i]) % KQ
        h[2 * i + 1] = (a0 * b1 + a1 * b0) % KQ
    return h


def _padd(f, g):
    return [(a + b) % KQ for a, b in zip(f, g)]


def _sample_ntt(seed: bytes):
    n = 840
    while True:
        buf = hashlib.shake_128(seed).digest(n)
        a, pos = [], 0
        while len(a) < 256 and pos + 3 <= n:
            c0, c1, c2 = buf[pos], buf[pos + 1], buf[pos + 2]
            pos += 3
            d1 = c0 + 256 * (c1 % 16)
            d2 = c1 // 16 + 16 * c2
            if d1 < KQ:
                a.append(d1)
            if d2 < KQ and len(a) < 256:
                a.append(d2)
        if len(a) == 256:
            return a
        n *= 2


def _cbd(b: bytes, eta: int):
    bits = [(b[i // 8] >> (i % 8)) & 1 for i in range(len(b) * 8)]
    out = []
    for i in range(256):
        x = sum(bits[2 * i * eta + j] for j in range(eta))
        y = sum(bits[2 * i * eta + eta + j] for j in range(eta))
        out.append((x - y) % KQ)
    return out


def _prf(eta: int, s: bytes, n: int) -> bytes:
    return hashlib.shake_256(s + u8(n)).digest(64 * eta)


def _byte_encode(f, d: int) -> bytes:
    acc, nbits, out = 0, 0, bytearray()
    for c in f:
        acc |= c << nbits
        nbits += d
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    return bytes(out)


def _byte_decode(b: bytes, d: int):
    v = int.from_bytes(b, "little")
    mask = (1 << d) - 1
    return [(v >> (d * i)) & mask for i in range(256)]


def _compress(x: int, d: int) -> int:
    return ((x << (d + 1)) + KQ) // (2 * KQ) % (1 << d)


def _decompress(y: int, d: int) -> int:
    return (y * KQ + (1 << (d - 1))) >> d


def _gen_matrix(rho: bytes):
    return [[_sample_ntt(rho + bytes([j, i])) for j in range(KK)] for i in range(KK)]


def mlkem_modulus_ok(ek: bytes) -> bool:
    """FIPS 203 §7.2 modulus check (§3.3)."""
    if len(ek) != EK_LEN:
        return False
    for i in range(KK):
        if any(c >= KQ for c in _byte_decode(ek[384 * i : 384 * (i + 1)], 12)):
            return False
    return True


def _kpke_keygen(d: bytes):
    g = hashlib.sha3_512(d + u8(KK)).digest()
    rho, sigma = g[:32], g[32:]
    A = _gen_matrix(rho)
    s = [_ntt(_cbd(_prf(ETA1, sigma, i), ETA1)) for i in range(KK)]
    e = [_ntt(_cbd(_prf(ETA1, sigma, KK + i), ETA1)) for i in range(KK)]
    t = []
    for i in range(KK):
        acc = e[i]
        for j in range(KK):
            acc = _padd(acc, _mul_ntt(A[i][j], s[j]))
        t.append(acc)
    ek = b"".join(_byte_encode(ti, 12) for ti in t) + rho
    dk = b"".join(_byte_encode(si, 12) for si in s)
    return ek, dk


def _kpke_encrypt(ek: bytes, m: bytes, r: bytes) -> bytes:
    t = [_byte_decode(ek[384 * i : 384 * (i + 1)], 12) for i in range(KK)]
    rho = ek[384 * KK :]
    A = _gen_matrix(rho)
    y = [_ntt(_cbd(_prf(ETA1, r, i), ETA1)) for i in range(KK)]
    e1 = [_cbd(_prf(ETA2, r, KK + i), ETA2) for i in range(KK)]
    e2 = _cbd(_prf(ETA2, r, 2 * KK), ETA2)
    u = []
    for i in range(KK):
        acc = [0] * 256
        for j in range(KK):
            acc = _padd(acc, _mul_ntt(A[j][i], y[j]))
        u.append(_padd(_intt(acc), e1[i]))
    mu = [_decompress(bit, 1) for bit in _byte_decode(m, 1)]
    acc = [0] * 256
    for j in range(KK):
        acc = _padd(acc, _mul_ntt(t[j], y[j]))
    v = _padd(_padd(_intt(acc), e2), mu)
    c1 = b"".join(_byte_encode([_compress(x, DU) for x in ui], DU) for ui in u)
    c2 = _byte_encode([_compress(x, DV) for x in v], DV)
    return c1 + c2


def _kpke_decrypt(dk: bytes, c: bytes) -> bytes:
    n1 = 32 * DU
    u = [[_decompress(x, DU) for x in _byte_decode(c[n1 * i : n1 * (i + 1)], DU)] for i in range(KK)]
    v = [_decompress(x, DV) for x in _byte_decode(c[n1 * KK :], DV)]
    s = [_byte_decode(dk[384 * i : 384 * (i + 1)], 12) for i in range(KK)]
    acc = [0] * 256
    for i in range(KK):
        acc = _padd(acc, _mul_ntt(s[i], _ntt(u[i])))
    w = [(a - b) % KQ for a, b in zip(v, _intt(acc))]
    return _byte_encode([_compress(x, 1) for x in w], 1)


def mlkem_keygen_internal(seed: bytes):
    """KeyGen_internal(d, z) with seed = d ‖ z; returns (ek, dk)."""
    d, z = seed[:32], seed[32:]
    ek, dk_pke = _kpke_keygen(d)
    return ek, dk_pke + ek + hashlib.sha3_256(ek).digest() + z


def mlkem_encaps_internal(ek: bytes, m: bytes):
    """Encaps_internal(ek, m); returns (CT, SS)."""
    g = hashlib.sha3_512(m + hashlib.sha3_256(ek).digest()).digest()
    K, r = g[:32], g[32:]
    return _kpke_encrypt(ek, m, r), K


def mlkem_decaps_pure(dk: bytes, c: bytes) -> bytes:
    dk_pke, ek = dk[: 384 * KK], dk[384 * KK : 768 * KK + 32]
    h, z = dk[768 * KK + 32 : 768 * KK + 64], dk[768 * KK + 64 :]
    m2 = _kpke_decrypt(dk_pke, c)
    g = hashlib.sha3_512(m2 + h).digest()
    K2, r2 = g[:32], g[32:]
    Kbar = hashlib.shake_256(z + c).digest(32)
    return K2 if _kpke_encrypt(ek, m2, r2) == c else Kbar


def mlkem_public_from_seed(seed: bytes) -> bytes:
    return mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()


def mlkem_decaps(seed: bytes, ct: bytes) -> bytes:
    return mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).decapsulate(ct)


def validate_mlkem_public(ek: bytes) -> None:
    if not mlkem_modulus_ok(ek):
        raise ProtocolError("InvalidKey", "ML-KEM ek fails the modulus check")


# ---------------------------------------------------------------------------
# §3.5 Signatures
# ---------------------------------------------------------------------------


def spk_signed_body(spk_id: int, created_at: int, spk_public: bytes) -> bytes:
    return u8(SUITE) + u32(spk_id) + u64(created_at) + spk_public


def kem_signed_body(kem_id: int, last_resort: bool, created_at: int, ek: bytes) -> bytes:
    return u8(SUITE) + u32(kem_id) + flag(last_resort) + u64(created_at) + ek


def sign(sk: bytes, label: bytes, body: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(sk).sign(label + body)


def verify_strict(A_bytes: bytes, label: bytes, body: bytes, sig: bytes) -> None:
    """§3.5 items 1-3 (pure Python)."""
    if len(sig) != 64:
        raise ProtocolError("InvalidSignature", "length")
    R_bytes, S = sig[:32], int.from_bytes(sig[32:], "little")
    if S >= L:
        raise ProtocolError("InvalidSignature", "S >= L")
    R = ed_decode(R_bytes)
    A = ed_decode(A_bytes)
    if R is None or A is None:
        raise ProtocolError("InvalidSignature", "R or A does not decode")
    if ed_small_order(R) or ed_small_order(A):
        raise ProtocolError("InvalidSignature", "small-order R or A")
    k = int.from_bytes(sha512(R_bytes + A_bytes + label + body), "little") % L
    if ed_encode(ed_add(ed_mul(S, ED_BASE), ed_neg(ed_mul(k, A)))) != R_bytes:
        raise ProtocolError("InvalidSignature", "equation")


# ---------------------------------------------------------------------------
# §4 Wire encodings
# ---------------------------------------------------------------------------

T_MESSAGE, T_PREKEY_MESSAGE, T_BUNDLE, T_RECORD = 0x01, 0x02, 0x03, 0x11
T_RECORD_REV1 = 0x10  # §4.4 revision 1: read, never written
MAX_PLAINTEXT_LEN = 262144
MAX_PADDED_LEN = 270336  # §7.6: Padmé(MAX_PLAINTEXT_LEN + 1)
MAX_CIPHERTEXT_LEN = MAX_PADDED_LEN + 16
MIN_CIPHERTEXT_LEN = 1 + 16  # the end marker of an empty plaintext, and the tag
TAGGED_LEN = 50  # the header bytes the header tag covers (§4.2)
HEADER_LEN = 66


class Reader:
    def __init__(self, b: bytes):
        self.b, self.pos = b, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.b):
            raise ProtocolError("Truncated", f"need {n} bytes at {self.pos}")
        out = self.b[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def flag(self) -> bool:
        v = self.u8()
        if v not in (0, 1):
            raise ProtocolError("InvalidField", f"flag 0x{v:02x}")
        return v == 1

    def rest(self) -> bytes:
        out = self.b[self.pos :]
        self.pos = len(self.b)
        return out

    def finish(self) -> None:
        if self.pos != len(self.b):
            raise ProtocolError("TrailingBytes", f"{len(self.b) - self.pos} left")


def read_prefix(r: Reader, want_type: int, with_suite: bool) -> None:
    """§4: version first, then type, then suite."""
    v = r.u8()
    if v != VERSION:
        raise ProtocolError("UnsupportedVersion", f"0x{v:02x}")
    t = r.u8()
    if t != want_type:
        raise ProtocolError("UnexpectedType", f"0x{t:02x}")
    if with_suite:
        s = r.u8()
        if s != SUITE:
            raise ProtocolError("UnsupportedSuite", f"0x{s:02x}")


# §4.1 PreKeyBundle ----------------------------------------------------------


@dataclass
class Bundle:
    ik: bytes
    spk_id: int
    spk_created_at: int
    spk: bytes
    spk_sig: bytes
    opk: Optional[tuple]  # (id, public)
    kem_id: int
    kem_last_resort: bool
    kem_created_at: int
    ek: bytes
    kem_sig: bytes


def encode_bundle(b: Bundle) -> bytes:
    out = u8(VERSION) + u8(T_BUNDLE) + u8(SUITE) + b.ik
    out += u32(b.spk_id) + u64(b.spk_created_at) + b.spk + b.spk_sig
    out += flag(b.opk is not None)
    if b.opk is not None:
        out += u32(b.opk[0]) + b.opk[1]
    out += u32(b.kem_id) + flag(b.kem_last_resort) + u64(b.kem_created_at) + b.ek + b.kem_sig
    return out


def decode_bundle(data: bytes) -> Bundle:
    r = Reader(data)
    read_prefix(r, T_BUNDLE, True)
    ik = r.take(32)
    spk_id, spk_created_at, spk, spk_sig = r.u32(), r.u64(), r.take(32), r.take(64)
    opk = (r.u32(), r.take(32)) if r.flag() else None
    kem_id, last_resort, kem_created_at = r.u32(), r.flag(), r.u64()
    ek, kem_sig = r.take(EK_LEN), r.take(64)
    r.finish()
    return Bundle(ik, spk_id, spk_created_at, spk, spk_sig, opk, kem_id, last_resort, kem_created_at, ek, kem_sig)


def verify_bundle(b: Bundle) -> None:
    """§4.1 'verified': every key valid (§3), both signatures (§3.5)."""
    validate_identity_key(b.ik)
    validate_x25519_public(b.spk)
    if b.opk is not None:
        validate_x25519_public(b.opk[1])
    validate_mlkem_public(b.ek)
    verify_strict(b.ik, SIG_SPK, spk_signed_body(b.spk_id, b.spk_created_at, b.spk), b.spk_sig)
    verify_strict(
        b.ik, SIG_KEM, kem_signed_body(b.kem_id, b.kem_last_resort, b.kem_created_at, b.ek), b.kem_sig
    )


# §4.2 Message ---------------------------------------------------------------


@dataclass
class Message:
    ratchet_key: bytes
    hint: bytes  # receiver hint, 4 bytes
    pn: int
    n: int
    tag: bytes  # header tag, 16 bytes
    ciphertext: bytes

    def tagged(self) -> bytes:
        """Header bytes 0..50, which the header tag covers."""
        return (
            u8(VERSION) + u8(T_MESSAGE) + self.ratchet_key + self.hint + u32(self.pn)
            + u32(self.n) + u32(len(self.ciphertext))
        )

    def header(self) -> bytes:
        return self.tagged() + self.tag

    def encode(self) -> bytes:
        return self.header() + self.ciphertext


def header_tag(hk: bytes, ad: bytes, tagged: bytes) -> bytes:
    """§7.1: HMAC(HK, HEADER_TAG ‖ AD_s ‖ header[0..50]) truncated to 16 bytes."""
    return hmac256(hk, HEADER_TAG + ad + tagged)[:16]


def read_message(r: Reader) -> Message:
    """§4.2 fields to the end of the input, without key validation (§4 order
    of checks: the length is checked before the bytes it counts are read;
    keys only once the whole encoding has decoded)."""
    read_prefix(r, T_MESSAGE, False)
    rk, hint = r.take(32), r.take(4)
    pn, n, ln = r.u32(), r.u32(), r.u32()
    if not MIN_CIPHERTEXT_LEN <= ln <= MAX_CIPHERTEXT_LEN:
        raise ProtocolError("LengthOutOfRange", f"ciphertext length {ln}")
    tag = r.take(16)
    ct = r.take(ln)
    r.finish()
    return Message(rk, hint, pn, n, tag, ct)


def decode_message(data: bytes) -> Message:
    msg = read_message(Reader(data))
    # §4.2: only the encoding here; the subgroup is checked when the key
    # starts a new chain, after its header tag (§7.4 step 3).
    validate_x25519_canonical(msg.ratchet_key)
    return msg


# §4.3 PreKeyMessage ---------------------------------------------------------


@dataclass
class SetupData:
    """The PreKeyMessage prefix fields (§8.1 pending setup data)."""

    spk_id: int
    opk_id: Optional[int]
    kem_id: int
    ct: bytes


@dataclass
class PreKeyMessage:
    ik_a: bytes
    setup: SetupData
    message: Message

    def encode(self) -> bytes:
        return encode_prekey_prefix(self.ik_a, self.setup) + self.message.encode()


def encode_prekey_prefix(ik_a: bytes, s: SetupData) -> bytes:
    out = u8(VERSION) + u8(T_PREKEY_MESSAGE) + u8(SUITE) + ik_a + u32(s.spk_id)
    out += flag(s.opk_id is not None)
    if s.opk_id is not None:
        out += u32(s.opk_id)
    return out + u32(s.kem_id) + s.ct


def decode_prekey_message(data: bytes) -> PreKeyMessage:
    r = Reader(data)
    read_prefix(r, T_PREKEY_MESSAGE, True)
    ik_a = r.take(32)
    spk_id = r.u32()
    opk_id = r.u32() if r.flag() else None
    kem_id, ct = r.u32(), r.take(CT_LEN)
    msg = read_message(r)  # the embedded Message in full, to the end
    # §4 order of checks: keys after the whole encoding, in field order
    validate_identity_key(ik_a)
    validate_x25519_public(msg.ratchet_key)
    return PreKeyMessage(ik_a, SetupData(spk_id, opk_id, kem_id, ct), msg)


def decode_any_message(data: bytes):
    """Decode by the type byte (after the version byte), validating keys."""
    if len(data) >= 1 and data[0] != VERSION:
        raise ProtocolError("UnsupportedVersion", f"0x{data[0]:02x}")
    if len(data) >= 2 and data[1] == T_PREKEY_MESSAGE:
        return decode_prekey_message(data)
    if len(data) >= 2 and data[1] not in (T_MESSAGE, T_PREKEY_MESSAGE):
        raise ProtocolError("UnexpectedType", f"0x{data[1]:02x}")
    return decode_message(data)


# ---------------------------------------------------------------------------
# §6 Session setup
# ---------------------------------------------------------------------------


def transcript_hash(ik_a, ik_b, spk_id, spk, opk, kem_id, ek, ek_a, ct) -> bytes:
    """§6.2 TH; opk is (id, public) or None."""
    m = TRANSCRIPT + u8(VERSION) + u8(SUITE) + ik_a + ik_b + u32(spk_id) + spk
    m += (b"\x01" + u32(opk[0]) + opk[1]) if opk is not None else b"\x00"
    m += u32(kem_id) + ek + ek_a + ct
    return sha256(m)


def derive_root(dhs: list, ss: bytes, th: bytes):
    """§6.2: RK0, CK0, HK_A (the initiator's first chain), HK_B (the responder's)."""
    ikm = b"\xff" * 32 + b"".join(dhs) + ss
    okm = hkdf(bytes(32), ikm, HANDSHAKE_INFO + th, 128)
    return okm[:32], okm[32:64], okm[64:96], okm[96:]


def session_ad(ik_a: bytes, ik_b: bytes, ctx: bytes) -> bytes:
    """§6.3"""
    if len(ctx) > 1024:
        raise ProtocolError("Misuse", "context too long")
    return sha256(SESSION_AD + u8(VERSION) + u8(SUITE) + ik_a + ik_b + u32(len(ctx)) + ctx)


def handshake_id(ik_a, ek_a, s: SetupData) -> bytes:
    """§6.5"""
    return sha256(
        HANDSHAKE_ID + u8(SUITE) + ik_a + ek_a + u32(s.spk_id) + flag(s.opk_id is not None)
        + u32(s.opk_id if s.opk_id is not None else 0) + u32(s.kem_id) + s.ct
    )


@dataclass
class Bounds:
    max_forward_jump: int = 25000
    max_skipped_keys: int = 2000
    max_old_chains: int = 5

    def validate(self) -> None:
        if not (1 <= self.max_forward_jump <= 100000 and 0 <= self.max_skipped_keys <= 50000
                and 0 <= self.max_old_chains <= 32):
            raise ProtocolError("Misuse", "bounds out of range")


@dataclass
class Padding:
    """§7.6 the sender's policy."""

    block: int = 160
    padme: bool = True

    def validate(self) -> None:
        if not 1 <= self.block <= 4096:
            raise ProtocolError("Misuse", "padding block out of range")

    def padded_len(self, n: int) -> int:
        blocks = -(-(n + 1) // self.block) * self.block
        return padme(blocks) if self.padme else blocks


def padme(length: int) -> int:
    """§7.6 Padmé: keep only the top floor(log2 E) + 1 bits below the leading one."""
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()  # floor(log2 e) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def pad(pt: bytes, padded_len: int) -> bytes:
    """§7.6: plaintext ‖ 0x80 ‖ zeros."""
    return pt + b"\x80" + bytes(max(padded_len - len(pt) - 1, 0))


def unpad(body: bytes) -> bytes:
    """§7.6: the plaintext ends at the last non-zero byte, which must be 0x80."""
    stripped = body.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(stripped) - 1 > MAX_PLAINTEXT_LEN:
        raise ProtocolError("InvalidPadding")
    return stripped[:-1]


@dataclass
class Chain:
    ratchet_key: bytes
    seq: int
    ck: bytes
    nr: int
    expired_below: int
    hk: bytes  # the chain's header key


@dataclass
class Session:
    """§7.2 state; field order is that of the §4.4 record."""

    responder: bool
    local_ik: bytes
    remote_ik: bytes
    ad: bytes
    base_key: bytes
    hid: bytes  # §6.5, stored since the record change (§4.4, §8.2)
    padding: Padding  # §7.6, how this side pads what it sends
    rk: bytes
    nhk: bytes  # the next header key (§7.2)
    bounds: Bounds
    dhs: Optional[bytes]  # our ratchet private key
    send: Optional[list]  # [CKs, Ns, HKs, receiver hint]
    pn: int
    next_seq: int
    chains: list = field(default_factory=list)  # [Chain], oldest first
    skipped: list = field(default_factory=list)  # [(seq, index, seed)]
    pending: Optional[SetupData] = None

    def clone(self) -> "Session":
        return decode_record(encode_record(self))


def initiator_setup(ik_a_sk, bundle_bytes, ek_a_priv, m, ctx, bounds, trace=None, padding=None):
    """§6.1 with the CSPRNG outputs (EK_A, m) given; returns the Session."""
    b = decode_bundle(bundle_bytes)
    verify_bundle(b)
    ik_a = identity_public(ik_a_sk)
    ek_a = x25519_base(ek_a_priv)
    dhs = [
        dh(identity_x25519_private(ik_a_sk), b.spk),
        dh(ek_a_priv, montgomery_u(b.ik)),
        dh(ek_a_priv, b.spk),
    ]
    if b.opk is not None:
        dhs.append(dh(ek_a_priv, b.opk[1]))
    ct, ss = mlkem_encaps_internal(b.ek, m)
    th = transcript_hash(ik_a, b.ik, b.spk_id, b.spk, b.opk, b.kem_id, b.ek, ek_a, ct)
    rk0, ck0, hk_a, hk_b = derive_root(dhs, ss, th)
    ad = session_ad(ik_a, b.ik, ctx)
    setup = SetupData(b.spk_id, b.opk[0] if b.opk else None, b.kem_id, ct)
    hid = handshake_id(ik_a, ek_a, setup)
    if trace is not None:
        trace.update(dhs=dhs, ct=ct, ss=ss, th=th, rk0=rk0, ck0=ck0, hk_a=hk_a, hk_b=hk_b, ad=ad, hid=hid)
    bounds.validate()
    # §7.2 initiator; the private key is stored as generated (unclamped, §4.4)
    return Session(False, ik_a, b.ik, ad, ek_a, hid, padding or Padding(), rk0, hk_b, bounds, ek_a_priv,
                   [ck0, 0, hk_a, bytes(4)], 0, 0, [], [], setup)


@dataclass
class ResponderKeys:
    """The responder's private material, looked up by id (§6.4 step 2)."""

    ik_sk: bytes
    spks: dict  # id -> private
    opks: dict  # id -> private
    kems: dict  # id -> (seed, last_resort)
    seen_hids: set = field(default_factory=set)


def responder_setup(keys: ResponderKeys, data: bytes, ctx: bytes, bounds: Bounds, trace=None,
                    padding=None):
    """§6.4 steps 1-4 for a PreKeyMessage with a new EK_A; returns
    (session, plaintext, hid).  Step 5 (deleting prekeys) is the caller's."""
    pkm = decode_prekey_message(data)  # validates IK_A and EK_A
    ik_a, s, msg = pkm.ik_a, pkm.setup, pkm.message
    ek_a = msg.ratchet_key
    if s.spk_id not in keys.spks or (s.opk_id is not None and s.opk_id not in keys.opks) \
            or s.kem_id not in keys.kems:
        raise ProtocolError("UnknownPrekey")
    hid = handshake_id(ik_a, ek_a, s)
    seed, last_resort = keys.kems[s.kem_id]
    if last_resort and hid in keys.seen_hids:
        raise ProtocolError("Replay")
    spk_priv = keys.spks[s.spk_id]
    spk_pub = x25519_base(spk_priv)
    dhs = [
        dh(spk_priv, montgomery_u(ik_a)),
        dh(identity_x25519_private(keys.ik_sk), ek_a),
        dh(spk_priv, ek_a),
    ]
    opk = None
    if s.opk_id is not None:
        dhs.append(dh(keys.opks[s.opk_id], ek_a))
        opk = (s.opk_id, x25519_base(keys.opks[s.opk_id]))
    ss = mlkem_decaps(seed, s.ct)
    ek = mlkem_public_from_seed(seed)
    ik_b = identity_public(keys.ik_sk)
    th = transcript_hash(ik_a, ik_b, s.spk_id, spk_pub, opk, s.kem_id, ek, ek_a, s.ct)
    rk0, ck0, hk_a, hk_b = derive_root(dhs, ss, th)
    ad = session_ad(ik_a, ik_b, ctx)
    if trace is not None:
        trace.update(dhs=dhs, ss=ss, th=th, rk0=rk0, ck0=ck0, hk_a=hk_a, hk_b=hk_b, ad=ad, hid=hid)
    bounds.validate()
    # §7.2 responder
    sess = Session(True, ik_b, ik_a, ad, ek_a, hid, padding or Padding(), rk0, hk_b, bounds, None, None, 0, 1,
                   [Chain(ek_a, 0, ck0, 0, 0, hk_a)], [], None)
    pt = ratchet_decrypt(sess, msg)  # mutates only on success
    return sess, pt, hid


# ---------------------------------------------------------------------------
# §7 Double Ratchet
# ---------------------------------------------------------------------------


def kdf_rk(rk: bytes, dh_out: bytes):
    """§7.1: RK', CK, NHK (the header key of the chain after the new one)."""
    okm = hkdf(rk, dh_out, ROOT_INFO, 96)
    return okm[:32], okm[32:64], okm[64:]


def kdf_ck(ck: bytes):
    return hmac256(ck, b"\x01"), hmac256(ck, b"\x02")


def message_key(seed: bytes):
    okm = hkdf_expand(seed, MESSAGE_KEY_INFO, 44)
    return okm[:32], okm[32:]


def ratchet_encrypt(s: Session, pt: bytes, new_ratchet_priv: Callable[[], bytes], trace=None) -> bytes:
    """§7.3; new_ratchet_priv plays the CSPRNG for step 1."""
    if len(pt) > MAX_PLAINTEXT_LEN:
        raise ProtocolError("Misuse", "plaintext too long")  # §9 senders
    new_priv = None
    rk, dhs, send, nhk = s.rk, s.dhs, s.send, s.nhk
    if send is None:
        if not s.chains:  # §9 senders
            raise ProtocolError("UnexpectedRatchetKey", "no receiving chain to ratchet from")
        new_priv = new_ratchet_priv()
        their = s.chains[-1].ratchet_key
        rk, cks, nhk = kdf_rk(s.rk, dh(new_priv, their))
        # the new chain's header key is the next header key held (§7.3 step 1)
        dhs, send = new_priv, [cks, 0, s.nhk, their[:4]]
    cks, ns, hks, hint = send
    if ns == U32_MAX:
        raise ProtocolError("ChainExhausted")
    seed, cks2 = kdf_ck(cks)
    key, nonce = message_key(seed)
    msg = Message(x25519_base(dhs), hint, s.pn, ns, b"", b"")
    body = pad(pt, s.padding.padded_len(len(pt)))  # §7.6
    msg.ciphertext = bytes(len(body) + 16)  # only its length is in the header
    msg.tag = header_tag(hks, s.ad, msg.tagged())
    header = msg.header()
    msg.ciphertext = aead_seal(key, nonce, s.ad + header, body)
    assert msg.header() == header
    if trace is not None:
        trace.update(new_priv=new_priv, ratchet_public=msg.ratchet_key, chain_key=cks, padded_len=len(body),
                     seed=seed, key=key, nonce=nonce, header_key=hks, header_tag=msg.tag,
                     next_header_key=nhk if new_priv is not None else None)
    s.rk, s.dhs, s.send, s.nhk = rk, dhs, [cks2, ns + 1, hks, hint], nhk
    if s.pending is not None:
        return PreKeyMessage(s.local_ik, s.pending, msg).encode()
    return msg.encode()


def follow(ck: bytes, nr: int, target: int, keep: int, want_target: bool):
    """§7.5: returns (ck, kept[(i, seed)], seed_T or None, expired_floor or None)."""
    kept = []
    lo = max(target - keep, nr)
    for i in range(nr, target):
        if i >= lo:
            seed, ck = kdf_ck(ck)
            kept.append((i, seed))
        else:
            ck = hmac256(ck, b"\x02")
    seed_t = None
    if want_target:
        seed_t, ck = kdf_ck(ck)
    floor = target - keep if target - keep > nr else None
    return ck, kept, seed_t, floor


def _store_add(s: Session, seq: int, kept: list) -> None:
    """§7.5 store: append, then evict oldest beyond max_skipped_keys."""
    s.skipped.extend((seq, i, seed) for i, seed in kept)
    while len(s.skipped) > s.bounds.max_skipped_keys:
        eseq, eidx, _ = s.skipped.pop(0)
        for c in s.chains:
            if c.seq == eseq:
                c.expired_below = max(c.expired_below, eidx + 1)


def ratchet_decrypt(s: Session, msg: Message) -> bytes:
    """§7.4; on any rejection `s` is left unchanged."""
    R, PN, N = msg.ratchet_key, msg.pn, msg.n
    b = s.bounds
    header = msg.header()
    idx = next((i for i, c in enumerate(s.chains) if c.ratchet_key == R), None)
    # 1. the header tag, under the named chain's header key or the next one
    hk = s.chains[idx].hk if idx is not None else s.nhk
    if not hmac.compare_digest(header_tag(hk, s.ad, msg.tagged()), msg.tag):
        raise ProtocolError("DecryptionFailed", "header tag")
    if N == U32_MAX:
        raise ProtocolError("ChainExhausted")
    if idx is not None:  # 2. known chain
        c = s.chains[idx]
        if N < c.nr:
            pos = next((j for j, (q, i, _) in enumerate(s.skipped) if q == c.seq and i == N), None)
            if pos is None:
                raise ProtocolError("MessageKeyExpired" if N < c.expired_below else "Duplicate")
            key, nonce = message_key(s.skipped[pos][2])
            pt = unpad(aead_open(key, nonce, s.ad + header, msg.ciphertext))
            del s.skipped[pos]
            s.pending = None
            return pt
        if idx != len(s.chains) - 1:
            raise ProtocolError("DecryptionFailed", "old chain beyond its end")
        if N - c.nr > b.max_forward_jump:
            raise ProtocolError("TooFarAhead")
        ck, kept, seed, floor = follow(c.ck, c.nr, N, min(N - c.nr, b.max_skipped_keys), True)
        key, nonce = message_key(seed)
        pt = unpad(aead_open(key, nonce, s.ad + header, msg.ciphertext))
        c.ck, c.nr = ck, N + 1
        if floor is not None:
            c.expired_below = max(c.expired_below, floor)
        _store_add(s, c.seq, kept)
        s.pending = None
        return pt
    # 3. new ratchet key
    if s.next_seq == U32_MAX:
        raise ProtocolError("ChainExhausted", "chain sequence numbers exhausted")
    if s.dhs is None:
        raise ProtocolError("UnexpectedRatchetKey")
    # the new key's subgroup, once per chain, before any chain work or DH
    if not x25519_in_prime_subgroup(R):
        raise ProtocolError("InvalidKey", "new ratchet key not of a point of order L")
    if N > b.max_forward_jump:
        raise ProtocolError("TooFarAhead")
    keep_new = min(N, b.max_skipped_keys)
    old = s.chains[-1] if s.chains else None
    old_plan = None
    if old is not None and PN > old.nr:
        if PN - old.nr > b.max_forward_jump:
            raise ProtocolError("TooFarAhead", "previous chain")
        old_plan = follow(old.ck, old.nr, PN, min(PN - old.nr, b.max_skipped_keys - keep_new), False)
    rk2, ckr, nhk2 = kdf_rk(s.rk, dh(s.dhs, R))
    ckr2, kept_new, seed, floor_new = follow(ckr, 0, N, keep_new, True)
    key, nonce = message_key(seed)
    pt = unpad(aead_open(key, nonce, s.ad + header, msg.ciphertext))
    # 5. commit
    if old_plan is not None:
        ck, kept, _, floor = old_plan
        old.ck, old.nr = ck, PN
        if floor is not None:
            old.expired_below = max(old.expired_below, floor)
        _store_add(s, old.seq, kept)
    new = Chain(R, s.next_seq, ckr2, N + 1, floor_new or 0, s.nhk)
    s.nhk = nhk2
    s.chains.append(new)
    s.next_seq += 1
    _store_add(s, new.seq, kept_new)
    while len(s.chains) > b.max_old_chains + 1:
        dropped = s.chains.pop(0)
        s.skipped = [t for t in s.skipped if t[0] != dropped.seq]
    s.rk = rk2
    if s.send is not None:
        s.pn = s.send[1]
        s.send = None
    s.pending = None
    return pt


# ---------------------------------------------------------------------------
# §4.4 Session record
# ---------------------------------------------------------------------------


def encode_record(s: Session) -> bytes:
    """§4.4 revision 2: the identities' X25519 forms and our ratchet public
    key are stored next to the keys they are derived from."""
    out = u8(VERSION) + u8(T_RECORD) + u8(SUITE) + flag(s.responder)
    out += s.local_ik + montgomery_u(s.local_ik) + s.remote_ik + montgomery_u(s.remote_ik)
    out += s.ad + s.base_key + s.hid
    out += s.padding.block.to_bytes(2, "big") + flag(s.padding.padme) + s.rk + s.nhk
    out += u32(s.bounds.max_forward_jump) + u32(s.bounds.max_skipped_keys) + u32(s.bounds.max_old_chains)
    out += flag(s.dhs is not None) + ((s.dhs + x25519_base(s.dhs)) if s.dhs is not None else b"")
    out += flag(s.send is not None)
    if s.send is not None:
        out += s.send[0] + u32(s.send[1]) + s.send[2] + s.send[3]
    out += u32(s.pn) + u32(s.next_seq) + u32(len(s.chains))
    for c in s.chains:
        out += c.ratchet_key + u32(c.seq) + c.ck + u32(c.nr) + u32(c.expired_below) + c.hk
    out += u32(len(s.skipped))
    for q, i, seed in s.skipped:
        out += u32(q) + u32(i) + seed
    out += flag(s.pending is not None)
    if s.pending is not None:
        p = s.pending
        out += u32(p.spk_id) + flag(p.opk_id is not None)
        if p.opk_id is not None:
            out += u32(p.opk_id)
        out += u32(p.kem_id) + p.ct
    return out


def decode_record(data: bytes) -> Session:
    """§4.4 decode and validate, either revision: revision 1's keys are
    validated (§3.1, §3.2); revision 2's were validated before they were
    stored, so only the encodings of its keys and stored values are."""
    r = Reader(data)
    v = r.u8()
    if v != VERSION:
        raise ProtocolError("UnsupportedVersion", f"0x{v:02x}")
    t = r.u8()
    if t not in (T_RECORD, T_RECORD_REV1):
        raise ProtocolError("UnexpectedType", f"0x{t:02x}")
    rev2 = t == T_RECORD
    suite = r.u8()
    if suite != SUITE:
        raise ProtocolError("UnsupportedSuite", f"0x{suite:02x}")
    responder = r.flag()
    local_ik = r.take(32)
    local_u = r.take(32) if rev2 else None
    remote_ik = r.take(32)
    remote_u = r.take(32) if rev2 else None
    ad, base_key, hid = (r.take(32) for _ in range(3))
    padding = Padding(int.from_bytes(r.take(2), "big"), r.flag())
    rk, nhk = r.take(32), r.take(32)
    bounds = Bounds(r.u32(), r.u32(), r.u32())
    dhs, dhs_pub = None, None
    if r.flag():
        dhs = r.take(32)
        dhs_pub = r.take(32) if rev2 else None
    send = [r.take(32), r.u32(), r.take(32), r.take(4)] if r.flag() else None
    pn, next_seq, nchains = r.u32(), r.u32(), r.u32()
    if nchains > 33:
        raise ProtocolError("LengthOutOfRange", "chain count")
    chains = [Chain(r.take(32), r.u32(), r.take(32), r.u32(), r.u32(), r.take(32)) for _ in range(nchains)]
    nskipped = r.u32()
    if nskipped > 50000:
        raise ProtocolError("LengthOutOfRange", "skipped count")
    skipped = [(r.u32(), r.u32(), r.take(32)) for _ in range(nskipped)]
    pending = None
    if r.flag():
        spk_id = r.u32()
        opk_id = r.u32() if r.flag() else None
        pending = SetupData(spk_id, opk_id, r.u32(), r.take(CT_LEN))
    r.finish()
    # settings: the padding, then the bounds
    padding.validate()
    bounds.validate()
    # keys, in field order
    if rev2:
        for ik, u in ((local_ik, local_u), (remote_ik, remote_u)):
            if (int.from_bytes(ik, "little") & ((1 << 255) - 1)) >= P:
                raise ProtocolError("InvalidKey", "stored identity key encoding not canonical")
            validate_x25519_canonical(u)
        validate_x25519_canonical(base_key)
        if dhs_pub is not None:
            validate_x25519_canonical(dhs_pub)
        for c in chains:
            validate_x25519_canonical(c.ratchet_key)
    else:
        validate_identity_key(local_ik)
        validate_identity_key(remote_ik)
        validate_x25519_public(base_key)
        for c in chains:
            validate_x25519_public(c.ratchet_key)
    # consistency
    bad = lambda why: ProtocolError("InvalidField", why)  # noqa: E731
    if nchains > bounds.max_old_chains + 1:
        raise bad("more chains than max_old_chains + 1")
    for a, c in zip(chains, chains[1:]):
        if not a.seq < c.seq:
            raise bad("chain seqs not increasing")
    for c in chains:
        if c.seq >= next_seq:
            raise bad("chain seq not below next seq")
        if c.expired_below > c.nr:
            raise bad("expired_below above next index")
    if nskipped > bounds.max_skipped_keys:
        raise bad("more skipped keys than max_skipped_keys")
    bychain = {c.seq: c for c in chains}
    for a, c in zip(skipped, skipped[1:]):
        if not (a[0], a[1]) < (c[0], c[1]):
            raise bad("skipped keys not ascending")
    for q, i, _ in skipped:
        if q not in bychain or not bychain[q].expired_below <= i < bychain[q].nr:
            raise bad("skipped key outside its chain")
    if not responder and dhs is None:
        raise bad("initiator without ratchet key")
    if responder and pending is not None:
        raise bad("responder with pending setup data")
    if responder and send is not None and dhs is None:
        raise bad("responder with sending chain but no ratchet key")
    if send is None and not chains:
        raise bad("neither sending nor receiving chain")
    return Session(responder, local_ik, remote_ik, ad, base_key, hid, padding, rk, nhk, bounds, dhs, send, pn,
                   next_seq, chains, skipped, pending)


# ---------------------------------------------------------------------------
# SERVER.md §2 prekey upload: decoding and key checks (§2.2 steps 1-3), and
# the upload signature (step 6), for negative.json's upload cases
# ---------------------------------------------------------------------------

T_UPLOAD = 0x20
SIG_UPLOAD = b"KINSEAL-v1 prekey upload\0"
MAX_UPLOAD_LEN = 131178
MAX_UPLOAD_BATCH = 100


def decode_upload(data: bytes) -> dict:
    """SERVER.md §2.2 steps 1-3. A bad identity key is InvalidKey; a bad
    prekey is UploadInvalidKey (the `Upload(InvalidKey)` refusal)."""
    if len(data) > MAX_UPLOAD_LEN:
        raise ProtocolError("LengthOutOfRange", "upload too long")
    r = Reader(data)
    read_prefix(r, T_UPLOAD, True)
    ik = r.take(32)
    spk = (r.u32(), r.u64(), r.take(32), r.take(64)) if r.flag() else None

    def kem_entry():
        return (r.u32(), r.flag(), r.u64(), r.take(EK_LEN), r.take(64))

    last_resort = kem_entry() if r.flag() else None
    n = r.u32()
    if n > MAX_UPLOAD_BATCH:
        raise ProtocolError("Upload", "too many one-time prekeys")
    opks = [(r.u32(), r.take(32)) for _ in range(n)]
    m = r.u32()
    if m > MAX_UPLOAD_BATCH:
        raise ProtocolError("Upload", "too many KEM prekeys")
    kems = [kem_entry() for _ in range(m)]
    signature = r.take(64)
    r.finish()
    validate_identity_key(ik)

    def prekey(check, key):
        try:
            check(key)
        except ProtocolError as e:
            raise ProtocolError("UploadInvalidKey", str(e)) from None

    if spk is not None:
        prekey(validate_x25519_public, spk[2])
    if last_resort is not None:
        prekey(validate_mlkem_public, last_resort[3])
    for _, key in opks:
        prekey(validate_x25519_public, key)
    for entry in kems:
        prekey(validate_mlkem_public, entry[3])
    return {"ik": ik, "body": data[:-64], "signature": signature}


# ---------------------------------------------------------------------------
# §4.5 addresses, §4.6 prekey counts, §4.7 envelope
# ---------------------------------------------------------------------------

T_USER_ADDRESS, T_DEVICE_ADDRESS, T_PREKEY_COUNTS, T_ENVELOPE = 0x50, 0x51, 0x21, 0x60
MAX_APP_ID_LEN, MAX_USER_ID_LEN = 64, 256
MIN_MESSAGE_LEN, MAX_MESSAGE_LEN = 83, 271554
MAX_ENVELOPE_LEN = 2 + 2 * (1 + MAX_APP_ID_LEN + 2 + MAX_USER_ID_LEN + 4) + 4 + MAX_MESSAGE_LEN


def encode_user_address_embedded(app_id: bytes, user_id: bytes) -> bytes:
    """§4.5: len(app) u8 ‖ app ‖ len(user) u16 ‖ user."""
    return u8(len(app_id)) + app_id + u16(len(user_id)) + user_id


def encode_device_address_embedded(a: tuple) -> bytes:
    app_id, user_id, device_id = a
    return encode_user_address_embedded(app_id, user_id) + u32(device_id)


def read_user_address_embedded(r: Reader) -> tuple[bytes, bytes]:
    """§4.5: each length against its range before the bytes it counts."""
    n = r.u8()
    if not 1 <= n <= MAX_APP_ID_LEN:
        raise ProtocolError("LengthOutOfRange", f"app id length {n}")
    app_id = r.take(n)
    n = r.u16()
    if not 1 <= n <= MAX_USER_ID_LEN:
        raise ProtocolError("LengthOutOfRange", f"user id length {n}")
    return app_id, r.take(n)


def read_device_address_embedded(r: Reader) -> tuple[bytes, bytes, int]:
    app_id, user_id = read_user_address_embedded(r)
    return app_id, user_id, r.u32()


def decode_user_address(data: bytes) -> tuple[bytes, bytes]:
    r = Reader(data)
    read_prefix(r, T_USER_ADDRESS, False)
    a = read_user_address_embedded(r)
    r.finish()
    return a


def decode_device_address(data: bytes) -> tuple[bytes, bytes, int]:
    r = Reader(data)
    read_prefix(r, T_DEVICE_ADDRESS, False)
    a = read_device_address_embedded(r)
    r.finish()
    return a


def encode_prekey_counts(one_time: int, kem: int) -> bytes:
    """§4.6."""
    return u8(VERSION) + u8(T_PREKEY_COUNTS) + u32(one_time) + u32(kem)


def decode_prekey_counts(data: bytes) -> tuple[int, int]:
    r = Reader(data)
    read_prefix(r, T_PREKEY_COUNTS, False)
    counts = r.u32(), r.u32()
    r.finish()
    return counts


def check_message_structure(data: bytes) -> str:
    """§4.7: the message's structure as §4.2 / §4.3 decode it, keys not
    validated; returns its kind."""
    if len(data) >= 1 and data[0] != VERSION:
        raise ProtocolError("UnsupportedVersion", f"0x{data[0]:02x}")
    if len(data) >= 2 and data[1] == T_PREKEY_MESSAGE:
        r = Reader(data)
        read_prefix(r, T_PREKEY_MESSAGE, True)
        r.take(32 + 4)
        if r.flag():
            r.u32()
        r.take(4 + CT_LEN)
        read_message(r)
        return "PreKeyMessage"
    read_message(Reader(data))
    return "Message"


def encode_envelope(sender: tuple, recipient: tuple, message: bytes) -> bytes:
    """§4.7."""
    return (u8(VERSION) + u8(T_ENVELOPE) + encode_device_address_embedded(sender)
            + encode_device_address_embedded(recipient) + u32(len(message)) + message)


def decode_envelope(data: bytes) -> tuple[tuple, tuple, str, bytes]:
    """§4.7 order of checks: the whole length, the fields front to back,
    then the message.  A rejection of the message itself gets
    `part = "message"`."""
    if len(data) > MAX_ENVELOPE_LEN:
        raise ProtocolError("LengthOutOfRange", "envelope too long")
    r = Reader(data)
    read_prefix(r, T_ENVELOPE, False)
    sender = read_device_address_embedded(r)
    recipient = read_device_address_embedded(r)
    n = r.u32()
    if not MIN_MESSAGE_LEN <= n <= MAX_MESSAGE_LEN:
        raise ProtocolError("LengthOutOfRange", f"message length {n}")
    message = r.take(n)
    r.finish()
    try:
        kind = check_message_structure(message)
    except ProtocolError as e:
        e.part = "message"
        raise
    return sender, recipient, kind, message


# ---------------------------------------------------------------------------
# The checks
# ===========================================================================
# group-messages.json (§16.1-§16.4): sender keys — begin
# (This section is self-contained; it ends at the matching "end" rule.)
# ===========================================================================

T_GROUP_MESSAGE, T_SENDER_KEY_DISTRIBUTION = 0x70, 0x71
T_SENDER_KEY_RECORD, T_RECEIVED_SENDER_KEY = 0x74, 0x75
GROUP_CHAIN = b"KINSEAL-v1 group chain\0"
GROUP_MESSAGE_KEY = b"KINSEAL-v1 group message key\0"
GROUP_MESSAGE_AD = b"KINSEAL-v1 group message AD\0"
SIG_GROUP_MESSAGE = b"KINSEAL-v1 group message\0"
MAX_GROUP_FORWARD_JUMP = 2000
MAX_GROUP_SKIPPED_KEYS = 2000
GROUP_HEADER_LEN = 55


def group_chain_step(ck: bytes) -> tuple[bytes, bytes]:
    """§16.3: (seed, next chain key)."""
    return hmac256(ck, GROUP_CHAIN + b"\x01"), hmac256(ck, GROUP_CHAIN + b"\x02")


def group_message_key(seed: bytes) -> tuple[bytes, bytes]:
    okm = hkdf_expand(seed, GROUP_MESSAGE_KEY, 44)
    return okm[:32], okm[32:]


def group_header(group_id: bytes, epoch: int, key_id: int, iteration: int, ct_len: int) -> bytes:
    return u8(VERSION) + u8(T_GROUP_MESSAGE) + u8(SUITE) + group_id + u64(epoch) + u32(key_id) + u32(iteration) + u32(ct_len)


def group_ad(group_id: bytes, epoch: int, sender: bytes, header: bytes) -> bytes:
    return GROUP_MESSAGE_AD + group_id + u64(epoch) + sender + header


def decode_group_message(data: bytes) -> dict:
    """§16.1, front to back."""
    r = Reader(data)
    read_prefix(r, T_GROUP_MESSAGE, True)
    m = {"group_id": r.take(32), "epoch": r.u64(), "key_id": r.u32(), "iteration": r.u32()}
    n = r.u32()
    if not MIN_CIPHERTEXT_LEN <= n <= MAX_CIPHERTEXT_LEN:
        raise ProtocolError("LengthOutOfRange", f"ciphertext_len {n}")
    m["ciphertext"] = r.take(n)
    m["signature"] = r.take(64)
    r.finish()
    return m


def decode_distribution(data: bytes) -> dict:
    """§16.2; the signing key checked as an identity key (§3.1)."""
    r = Reader(data)
    read_prefix(r, T_SENDER_KEY_DISTRIBUTION, True)
    d = {"group_id": r.take(32), "epoch": r.u64(), "key_id": r.u32(), "iteration": r.u32(),
         "chain_key": r.take(32), "signing_key": r.take(32)}
    r.finish()
    validate_identity_key(d["signing_key"])
    return d


class GroupReceiver:
    """§16.4, on its own: floor, next iteration, chain key, skipped seeds."""

    def __init__(self, d: dict, sender: tuple):
        self.group_id, self.epoch, self.key_id = d["group_id"], d["epoch"], d["key_id"]
        self.pk, self.sender = d["signing_key"], sender
        self.floor = self.next = d["iteration"]
        self.ck = d["chain_key"]
        self.skipped: dict[int, bytes] = {}  # insertion order is ascending

    def decrypt(self, sender: tuple, data: bytes) -> bytes:
        m = decode_group_message(data)
        if m["group_id"] != self.group_id:
            raise ProtocolError("WrongGroup")
        if m["epoch"] != self.epoch:
            raise ProtocolError("WrongEpoch")
        if m["key_id"] != self.key_id:
            raise ProtocolError("UnknownSenderKey")
        if sender != self.sender:
            raise ProtocolError("WrongSender")
        s = encode_device_address_embedded(sender)
        try:
            verify_strict(self.pk, SIG_GROUP_MESSAGE, s + data[:-64], m["signature"])
        except ProtocolError:
            raise ProtocolError("DecryptionFailed", "signature")
        i = m["iteration"]
        kept, ck = [], self.ck
        if i >= self.next:
            if i - self.next > MAX_GROUP_FORWARD_JUMP:
                raise ProtocolError("JumpTooFar")
            if i == 0xFFFFFFFF:
                raise ProtocolError("ChainExhausted")
            for j in range(self.next, i + 1):
                seed, ck = group_chain_step(ck)
                kept.append((j, seed))
            seed = kept.pop()[1]
        elif i < self.floor:
            raise ProtocolError("GroupMessageKeyExpired")
        elif i in self.skipped:
            seed = self.skipped[i]
        else:
            raise ProtocolError("GroupDuplicate")
        key, nonce = group_message_key(seed)
        ad = group_ad(self.group_id, self.epoch, s, data[:GROUP_HEADER_LEN])
        try:
            body = aead_open(key, nonce, ad, m["ciphertext"])
        except Exception:
            raise ProtocolError("DecryptionFailed", "tag")
        pt = unpad(body)
        # commit
        if i >= self.next:
            self.ck, self.next = ck, i + 1
            for j, sd in kept:
                self.skipped[j] = sd
            while len(self.skipped) > MAX_GROUP_SKIPPED_KEYS:
                oldest = next(iter(self.skipped))
                del self.skipped[oldest]
                self.floor = max(self.floor, oldest + 1)
        else:
            del self.skipped[i]
        return pt

    def record(self) -> bytes:
        out = u8(VERSION) + u8(T_RECEIVED_SENDER_KEY) + u8(SUITE) + self.group_id + u64(self.epoch)
        out += u32(self.key_id) + u32(self.floor) + u32(self.next) + self.ck + self.pk
        out += encode_device_address_embedded(self.sender) + u32(len(self.skipped))
        for j in sorted(self.skipped):
            out += u32(j) + self.skipped[j]
        return out


def sender_key_record(group_id, epoch, key_id, iteration, ck, sk) -> bytes:
    return u8(VERSION) + u8(T_SENDER_KEY_RECORD) + u8(SUITE) + group_id + u64(epoch) + u32(key_id) + u32(iteration) + ck + sk


def check_group_messages(c: Checker) -> int:
    doc = load("group-messages.json")
    c.eq("group: labels", [H(doc["labels"][k]) for k in ("group_chain", "group_message_key", "group_message_ad",
                                                         "sig_group_message")],
         [GROUP_CHAIN, GROUP_MESSAGE_KEY, GROUP_MESSAGE_AD, SIG_GROUP_MESSAGE])
    c.eq("group: bounds", (doc["max_group_forward_jump"], doc["max_group_skipped_keys"]),
         (MAX_GROUP_FORWARD_JUMP, MAX_GROUP_SKIPPED_KEYS))

    def device(v) -> tuple:
        return H(v["app_id"]), H(v["user_id"]), v["device_id"]

    g, epoch, key_id = H(doc["group_id"]), doc["epoch"], doc["key_id"]
    sender = device(doc["sender"])
    s = encode_device_address_embedded(sender)
    c.eq("group: embedded sender", s, H(doc["sender_embedded"]))
    sk, ck0 = H(doc["signing_secret"]), H(doc["chain_key"])
    pk = identity_public(sk)
    c.eq("group: signing public key", pk, H(doc["signing_public"]))
    c.eq("group: sender record at start", sender_key_record(g, epoch, key_id, 0, ck0, sk),
         H(doc["sender_record_at_start"]))
    dist = u8(VERSION) + u8(T_SENDER_KEY_DISTRIBUTION) + u8(SUITE) + g + u64(epoch) + u32(key_id) + u32(0) + ck0 + pk
    c.eq("group: distribution", dist, H(doc["distribution"]))
    n = 0
    ck = ck0
    encodings = []
    for m in doc["messages"]:
        tag = f"group message {m['iteration']}"
        c.eq(f"{tag} chain key", ck, H(m["chain_key"]))
        seed, nxt = group_chain_step(ck)
        c.eq(f"{tag} seed", seed, H(m["seed"]))
        key, nonce = group_message_key(seed)
        c.eq(f"{tag} key and nonce", (key, nonce), (H(m["aead_key"]), H(m["nonce"])))
        pt = H(m["plaintext"])
        body = pad(pt, Padding().padded_len(len(pt)))
        header = group_header(g, epoch, key_id, m["iteration"], len(body) + 16)
        ad = group_ad(g, epoch, s, header)
        c.eq(f"{tag} associated data", ad, H(m["associated_data"]))
        signed = header + aead_seal(key, nonce, ad, body)
        sig = sign(sk, SIG_GROUP_MESSAGE, s + signed)
        c.eq(f"{tag} signature", sig, H(m["signature"]))
        c.eq(f"{tag} encoding", signed + sig, H(m["encoding"]))
        encodings.append(signed + sig)
        ck = nxt
        n += 1
    c.eq("group: sender record after", sender_key_record(g, epoch, key_id, len(encodings), ck, sk),
         H(doc["sender_record_after"]))

    def run(rx: GroupReceiver, deliveries: list, what: str) -> None:
        nonlocal n
        for k, dlv in enumerate(deliveries):
            data = encodings[dlv["message"]]
            tag = f"group {what}[{k}] (message {dlv['message']})"
            if "error" in dlv:
                before = rx.record()
                c.rejects(tag, lambda: rx.decrypt(sender, data), dlv["error"])
                c.eq(f"{tag} leaves the state unchanged", rx.record(), before)
            else:
                c.eq(tag, rx.decrypt(sender, data), H(dlv["plaintext"]))
            n += 1

    rx = GroupReceiver(decode_distribution(dist), sender)
    run(rx, doc["deliveries"], "delivery")
    c.eq("group: receiver record after", rx.record(), H(doc["receiver_record_after"]))
    late = GroupReceiver(decode_distribution(H(doc["late_distribution"])), sender)
    c.eq("group: late distribution iteration", late.next, 4)
    run(late, doc["late_deliveries"], "late delivery")
    for i, case in enumerate(doc["negative"]):
        fresh = GroupReceiver(decode_distribution(dist), sender)
        before = fresh.record()
        data, frm = H(case["input"]), device(case["from"])
        c.rejects(f"group negative[{i}]: {case['reason']}", lambda: fresh.decrypt(frm, data), case["error"])
        c.eq(f"group negative[{i}] leaves the state unchanged", fresh.record(), before)
        n += 1
    for i, case in enumerate(doc["bad_distributions"]):
        data = H(case["input"])
        c.rejects(f"group bad distribution[{i}]: {case['reason']}", lambda: decode_distribution(data), case["error"])
        n += 1
    return n


# group-messages.json (§16.1-§16.4): sender keys — end
# ===========================================================================


# ---------------------------------------------------------------------------


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.notes: list[str] = []

    def eq(self, what: str, got, want) -> bool:
        if got == want:
            self.passed += 1
            return True
        self.failed += 1
        if isinstance(got, bytes) and isinstance(want, bytes):
            at = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
            print(f"  FAIL {what}: {len(got)} vs {len(want)} bytes, first difference at offset {at}: "
                  f"got {got[at:at + 32].hex()}, want {want[at:at + 32].hex()}")
            return False
        g = got.hex() if isinstance(got, bytes) else got
        w = want.hex() if isinstance(want, bytes) else want
        print(f"  FAIL {what}: got {str(g)[:80]}, want {str(w)[:80]}")
        return False

    def ok(self, what: str, cond: bool) -> bool:
        return self.eq(what, bool(cond), True)

    def rejects(self, what: str, fn, want_kind: Optional[str] = None) -> Optional[str]:
        try:
            fn()
        except ProtocolError as e:
            if want_kind is not None and e.kind != want_kind:
                # §4 / §9: the kinds are to match (SHOULD); a mismatch fails
                self.failed += 1
                self.notes.append(f"{what}: rejected as {e.kind}, vector says {want_kind}")
                print(f"  FAIL {what}: rejected as {e.kind} ({e}), want {want_kind}")
            else:
                self.passed += 1
            return e.kind
        self.failed += 1
        print(f"  FAIL {what}: accepted, want rejection ({want_kind})")
        return None


H = bytes.fromhex


def load(name: str):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


# identity.json -------------------------------------------------------------


def check_identity(c: Checker) -> int:
    doc = load("identity.json")
    for i, case in enumerate(doc["cases"]):
        sk, ik = H(case["ed25519_secret"]), H(case["identity_public"])
        c.eq(f"identity[{i}] public", identity_public(sk), ik)
        x = identity_x25519_private(sk)
        c.eq(f"identity[{i}] x25519_private", x, H(case["x25519_private"]))
        u = montgomery_u(ik)
        c.eq(f"identity[{i}] U(IK)", u, H(case["x25519_public"]))
        c.eq(f"identity[{i}] X25519(x, 9)", x25519_base(x), u)
        validate_identity_key(ik)
        c.ok(f"identity[{i}] valid", True)
    return len(doc["cases"])


# handshake.json ------------------------------------------------------------


def responder_keys(hs) -> ResponderKeys:
    rsp = hs["responder"]
    spk, opk, kem = rsp["signed_prekey"], rsp["one_time_prekey"], rsp["kem_prekey"]
    return ResponderKeys(
        H(rsp["identity_secret"]),
        {spk["id"]: H(spk["private"])},
        {opk["id"]: H(opk["private"])} if opk else {},
        {kem["id"]: (H(kem["seed"]), kem["last_resort"])},
    )


def check_handshake_case(c: Checker, hs, tag: str, bounds: Bounds):
    """Everything a handshake case pins; returns (alice, bob) sessions after
    the first message was sent and received."""
    ini, rsp = hs["initiator"], hs["responder"]
    spk, opk, kem = rsp["signed_prekey"], rsp["one_time_prekey"], rsp["kem_prekey"]
    ctx = H(hs["context"])
    pad_a, pad_b = (Padding(**hs["padding"][side]) for side in ("initiator", "responder"))
    a_sk, b_sk = H(ini["identity_secret"]), H(rsp["identity_secret"])
    ik_a, ik_b = H(ini["identity_public"]), H(rsp["identity_public"])
    c.eq(f"{tag} IK_A", identity_public(a_sk), ik_a)
    c.eq(f"{tag} IK_B", identity_public(b_sk), ik_b)
    ek_a_priv, ek_a = H(ini["base_private"]), H(ini["base_public"])
    c.eq(f"{tag} EK_A", x25519_base(ek_a_priv), ek_a)
    # prekeys and their signatures (§3.5, §3.6)
    c.eq(f"{tag} SPK public", x25519_base(H(spk["private"])), H(spk["public"]))
    body = spk_signed_body(spk["id"], spk["created_at"], H(spk["public"]))
    c.eq(f"{tag} SPK signed_body", body, H(spk["signed_body"]))
    c.eq(f"{tag} SPK signature", sign(b_sk, SIG_SPK, body), H(spk["signature"]))
    verify_strict(ik_b, SIG_SPK, body, H(spk["signature"]))
    Ed25519PublicKey.from_public_bytes(ik_b).verify(H(spk["signature"]), SIG_SPK + body)
    c.ok(f"{tag} SPK signature verifies", True)
    if opk:
        c.eq(f"{tag} OPK public", x25519_base(H(opk["private"])), H(opk["public"]))
    seed = H(kem["seed"])
    ek_lib = mlkem_public_from_seed(seed)
    ek_pure, dk_pure = mlkem_keygen_internal(seed)
    c.eq(f"{tag} KEM ek (library KeyGen)", ek_lib, H(kem["public"]))
    c.eq(f"{tag} KEM ek (pure KeyGen_internal)", ek_pure, H(kem["public"]))
    c.ok(f"{tag} KEM ek modulus check", mlkem_modulus_ok(ek_lib))
    kbody = kem_signed_body(kem["id"], kem["last_resort"], kem["created_at"], ek_lib)
    c.eq(f"{tag} KEM signed_body", kbody, H(kem["signed_body"]))
    c.eq(f"{tag} KEM signature", sign(b_sk, SIG_KEM, kbody), H(kem["signature"]))
    verify_strict(ik_b, SIG_KEM, kbody, H(kem["signature"]))
    Ed25519PublicKey.from_public_bytes(ik_b).verify(H(kem["signature"]), SIG_KEM + kbody)
    c.ok(f"{tag} KEM signature verifies", True)
    # bundle (§4.1): build it, compare, decode, verify, re-encode
    bundle = Bundle(ik_b, spk["id"], spk["created_at"], H(spk["public"]), H(spk["signature"]),
                    (opk["id"], H(opk["public"])) if opk else None, kem["id"], kem["last_resort"],
                    kem["created_at"], ek_lib, H(kem["signature"]))
    c.eq(f"{tag} bundle bytes", encode_bundle(bundle), H(hs["bundle"]))
    db = decode_bundle(H(hs["bundle"]))
    verify_bundle(db)
    c.eq(f"{tag} bundle decode/re-encode", encode_bundle(db), H(hs["bundle"]))
    c.eq(f"{tag} bundle length", len(H(hs["bundle"])), 3 + 32 + 4 + 8 + 32 + 64 + 1 + (36 if opk else 0) + 4 + 1 + 8 + 1184 + 64)
    c.eq(f"{tag} bundle length (§4.1 heading)", len(H(hs["bundle"])), 1441 if opk else 1405)
    # initiator (§6.1, §6.2, §6.3, §6.5)
    t = {}
    alice = initiator_setup(a_sk, H(hs["bundle"]), ek_a_priv, H(ini["kem_encaps_m"]), ctx, bounds, t, pad_a)
    want_dhs = [H(hs[k]) for k in ("dh1", "dh2", "dh3")] + ([H(hs["dh4"])] if hs["dh4"] else [])
    c.eq(f"{tag} dh4 presence", hs["dh4"] is not None, opk is not None)
    for i, (g, w) in enumerate(zip(t["dhs"], want_dhs)):
        c.eq(f"{tag} DH{i + 1}", g, w)
    c.eq(f"{tag} DH count", len(t["dhs"]), len(want_dhs))
    c.eq(f"{tag} KEM ciphertext (pure Encaps_internal)", t["ct"], H(hs["kem_ciphertext"]))
    c.eq(f"{tag} KEM shared secret (pure Encaps_internal)", t["ss"], H(hs["kem_shared_secret"]))
    c.eq(f"{tag} KEM decaps (library)", mlkem_decaps(seed, H(hs["kem_ciphertext"])), H(hs["kem_shared_secret"]))
    c.eq(f"{tag} KEM decaps (pure)", mlkem_decaps_pure(dk_pure, H(hs["kem_ciphertext"])), H(hs["kem_shared_secret"]))
    c.eq(f"{tag} transcript hash", t["th"], H(hs["transcript_hash"]))
    c.eq(f"{tag} RK0", t["rk0"], H(hs["root_key"]))
    c.eq(f"{tag} CK0", t["ck0"], H(hs["chain_key"]))
    c.eq(f"{tag} HK_A", t["hk_a"], H(hs["initiator_header_key"]))
    c.eq(f"{tag} HK_B", t["hk_b"], H(hs["responder_header_key"]))
    c.eq(f"{tag} session AD", t["ad"], H(hs["session_ad"]))
    c.eq(f"{tag} handshake id", t["hid"], H(hs["handshake_id"]))
    # first message (§7.3, §8.1), built from the components
    seed0, _ = kdf_ck(t["ck0"])
    key0, nonce0 = message_key(seed0)
    c.eq(f"{tag} first message key seed", seed0, H(hs["first_message_key_seed"]))
    c.eq(f"{tag} first message key", key0, H(hs["first_message_key"]))
    c.eq(f"{tag} first message nonce", nonce0, H(hs["first_message_nonce"]))
    pt0 = H(hs["first_plaintext"])
    # §7.6: the first plaintext, padded by the initiator's policy
    c.eq(f"{tag} first padded length", pad_a.padded_len(len(pt0)), hs["first_padded_length"])
    body0 = pt0 + b"\x80" + bytes(hs["first_padded_length"] - len(pt0) - 1)
    tagged = u8(1) + u8(1) + ek_a + bytes(4) + u32(0) + u32(0) + u32(len(body0) + 16)
    hdr = tagged + hmac256(t["hk_a"], HEADER_TAG + t["ad"] + tagged)[:16]
    built = (u8(1) + u8(2) + u8(1) + ik_a + u32(spk["id"]) + (flag(True) + u32(opk["id"]) if opk else flag(False))
             + u32(kem["id"]) + t["ct"] + hdr + aead_seal(key0, nonce0, t["ad"] + hdr, body0))
    c.eq(f"{tag} prekey_message (built by hand)", built, H(hs["prekey_message"]))
    sent = ratchet_encrypt(alice, pt0, lambda: None)
    c.eq(f"{tag} prekey_message (ratchet_encrypt)", sent, H(hs["prekey_message"]))
    pkm = decode_prekey_message(H(hs["prekey_message"]))
    c.eq(f"{tag} prekey_message decode/re-encode", pkm.encode(), H(hs["prekey_message"]))
    # responder (§6.4)
    keys = responder_keys(hs)
    tb = {}
    bob, pt, hid = responder_setup(keys, H(hs["prekey_message"]), ctx, bounds, tb, pad_b)
    c.eq(f"{tag} responder plaintext", pt, pt0)
    for k in ("dhs", "ss", "th", "rk0", "ck0", "hk_a", "hk_b", "ad", "hid"):
        c.eq(f"{tag} responder {k}", tb[k], t[k])
    # §6.4 step 5: a last-resort KEM prekey remembers the handshake id;
    # one-time prekeys are deleted
    k2 = responder_keys(hs)
    if kem["last_resort"]:
        k2.seen_hids.add(hid)
        c.rejects(f"{tag} last-resort replay", lambda: responder_setup(k2, H(hs["prekey_message"]), ctx, bounds), "Replay")
    else:
        k2.kems.pop(kem["id"])
        k2.opks.clear()
        c.rejects(f"{tag} one-time KEM prekey deleted", lambda: responder_setup(k2, H(hs["prekey_message"]), ctx, bounds), "UnknownPrekey")
    # record round trip
    for who, s in (("alice", alice), ("bob", bob)):
        rec = encode_record(s)
        c.eq(f"{tag} {who} record round trip", encode_record(decode_record(rec)), rec)
    return alice, keys, pad_b


def check_handshakes(c: Checker) -> int:
    doc = load("handshake.json")
    for i, hs in enumerate(doc["cases"]):
        check_handshake_case(c, hs, f"handshake[{i}]", Bounds())
    return len(doc["cases"])


# conversation.json ---------------------------------------------------------


def deliver(s: Optional[Session], data: bytes, keys: ResponderKeys, ctx: bytes, bounds: Bounds,
            padding: Optional[Padding] = None):
    """Deliver wire bytes to a party holding session `s` (None: a responder
    without a session yet).  Returns (session, plaintext); raises on
    rejection, leaving `s` unchanged."""
    if len(data) >= 2 and data[0] == VERSION and data[1] == T_PREKEY_MESSAGE:
        if s is None:  # §6.4: a new session
            sess, pt, _ = responder_setup(keys, data, ctx, bounds, padding=padding)
            return sess, pt
        pkm = decode_prekey_message(data)
        if not s.responder:  # §8.1
            raise ProtocolError("UnexpectedPreKeyMessage", "PreKeyMessage at an initiator")
        if pkm.message.ratchet_key != s.base_key:
            # §8.2: an unknown EK_A starts another session, which this
            # one-session-per-party model does not hold
            raise ProtocolError("OtherSession", "PreKeyMessage for another session")
        # §8.2: a repeat must carry the session's handshake id
        if handshake_id(pkm.ik_a, pkm.message.ratchet_key, pkm.setup) != s.hid:
            raise ProtocolError("UnexpectedPreKeyMessage", "handshake id differs from the session's")
        return s, ratchet_decrypt(s, pkm.message)
    if s is None:
        raise ProtocolError("NoSession", "no session")
    return s, ratchet_decrypt(s, decode_message(data))


def check_conversation(c: Checker, conv, tag: str) -> None:
    bounds = Bounds(**conv["bounds"])
    hs = conv["handshake"]
    ctx = H(hs["context"])
    msgs, events = conv["messages"], conv["events"]
    c.eq(f"{tag} messages[0] is the handshake message", msgs[0]["plaintext"], hs["first_plaintext"])
    c.eq(f"{tag} messages[0] is from alice", msgs[0]["from"], "alice")
    # check_handshake_case() builds alice's session and sends messages[0]
    # from it, so the events must begin with that send.
    c.eq(f"{tag} events begin with sending messages[0]", (events[0]["event"], events[0].get("message")), ("send", 0))
    alice, keys, pad_b = check_handshake_case(c, hs, f"{tag} handshake", bounds)
    wire: dict = {}
    parties: dict = {"alice": alice, "bob": None}
    next_send = 0

    def send(k: int) -> None:
        m = msgs[k]
        s = parties[m["from"]]
        t = {}
        nrp = m["new_ratchet_private"]

        def gen():
            if nrp is None:
                raise ProtocolError("Misuse", f"message {k}: new chain, but the vector has no key")
            return H(nrp)

        b = ratchet_encrypt(s, H(m["plaintext"]), gen, t)
        c.eq(f"{tag} msg {k} new chain", t["new_priv"] is not None, nrp is not None)
        c.eq(f"{tag} msg {k} ratchet_public", t["ratchet_public"], H(m["ratchet_public"]))
        c.eq(f"{tag} msg {k} chain_key", t["chain_key"], H(m["chain_key"]))
        c.eq(f"{tag} msg {k} message_key_seed", t["seed"], H(m["message_key_seed"]))
        c.eq(f"{tag} msg {k} message_key", t["key"], H(m["message_key"]))
        c.eq(f"{tag} msg {k} nonce", t["nonce"], H(m["nonce"]))
        c.eq(f"{tag} msg {k} header_key", t["header_key"], H(m["header_key"]))
        c.eq(f"{tag} msg {k} header_tag", t["header_tag"], H(m["header_tag"]))
        c.eq(f"{tag} msg {k} next_header_key", t["next_header_key"],
             H(m["next_header_key"]) if m["next_header_key"] is not None else None)
        c.eq(f"{tag} msg {k} padded_length", t["padded_len"], m["padded_length"])
        c.eq(f"{tag} msg {k} bytes", b, H(m["bytes"]))
        wire[k] = b

    for ei, e in enumerate(events):
        ev = e["event"]
        where = f"{tag} event {ei} ({ev}"
        if ev == "send":
            k = e["message"]
            c.eq(f"{where} {k}) in index order", k, next_send)
            if k == 0:
                wire[0] = H(hs["prekey_message"])  # sent by check_handshake_case
            else:
                send(k)
            next_send = k + 1
        elif ev == "deliver":
            k, to = e["message"], e["to"]
            where += f" {k} to {to})"
            if not c.ok(f"{where}: message was sent before", k in wire):
                continue
            c.ok(f"{where}: not to its sender", to != msgs[k]["from"])
            s = parties[to]
            before = encode_record(s) if s is not None else None
            try:
                s2, pt = deliver(s, wire[k], keys, ctx, bounds, pad_b)
                parties[to] = s2
                outcome = "ok"
            except ProtocolError as err:
                outcome, pt = err.kind, None
                c.eq(f"{where} left the state unchanged",
                     encode_record(s) if s is not None else None, before)
            c.eq(f"{where} outcome", outcome, e["outcome"])
            if outcome == "ok" and e["outcome"] == "ok":
                c.eq(f"{where} plaintext", pt, H(e["plaintext"]))
                c.eq(f"{where} plaintext is the message's", pt, H(msgs[k]["plaintext"]))
        elif ev == "records":
            for who in ("alice", "bob"):
                got = encode_record(parties[who]) if parties[who] is not None else None
                c.eq(f"{where}) {who} record", got, H(e[who]))
                c.eq(f"{where}) {who} record decode/re-encode",
                     encode_record(decode_record(H(e[who]))), H(e[who]))
        elif ev == "restore":
            who, rec = e["party"], H(e["record"])
            restored = decode_record(rec)
            c.eq(f"{where} {who}) record decode/re-encode", encode_record(restored), rec)
            c.eq(f"{where} {who}) record role", restored.responder, who == "bob")
            parties[who] = restored
        else:
            c.ok(f"{where}) known event", False)
    c.eq(f"{tag} every message was sent", next_send, len(msgs))


def check_conversations(c: Checker) -> int:
    doc = load("conversation.json")
    for i, conv in enumerate(doc["conversations"]):
        check_conversation(c, conv, f"conversation[{i}]")
    return len(doc["conversations"])


# negative.json -------------------------------------------------------------


def check_negative(c: Checker) -> int:
    doc = load("negative.json")
    setup = doc["setup"]
    ctx0 = H(setup["context"])
    # alice: the initiator right after sending the first message
    alice, _, _ = check_handshake_case(c, setup, "negative setup", Bounds())
    base_pkm = H(setup["prekey_message"])
    # bob: the responder that has answered the first message and sent nothing
    bob, _, _ = responder_setup(responder_keys(setup), base_pkm, ctx0, Bounds())
    # `record` (README): the responder after setup and one sent message.
    # Rebuild it, taking the one CSPRNG output (the new ratchet private key,
    # stored unclamped, §4.4) from the record itself.
    base_record = H(doc["record"])
    rec = decode_record(base_record)
    c.eq("negative record decode/re-encode", encode_record(rec), base_record)
    # the same state as revision 1 (§4.4): read, validated, written as revision 2
    rec_1 = H(doc["record_revision_1"])
    c.eq("negative record in revision 1 is type 0x10, 96 bytes shorter",
         (rec_1[1], len(rec_1) + 96), (T_RECORD_REV1, len(base_record)))
    c.eq("negative record in revision 1 re-encodes as revision 2", encode_record(decode_record(rec_1)), base_record)
    c.ok("negative record has a ratchet key", rec.dhs is not None)
    sent_once = bob.clone()
    ratchet_encrypt(sent_once, b"", lambda: rec.dhs)
    c.eq("negative record is the responder after setup and one send", encode_record(sent_once), base_record)
    bases = {
        "bundle": [H(setup["bundle"])],
        "message": [base_pkm, decode_prekey_message(base_pkm).message.encode()],
        "session_record": [base_record],
    }
    # the upload the upload cases edit: it decodes and its signature verifies
    bases["upload"] = [H(doc["upload"])]
    up = decode_upload(bases["upload"][0])
    verify_strict(up["ik"], SIG_UPLOAD, up["body"], up["signature"])
    verify_bundle(decode_bundle(bases["bundle"][0]))
    decode_any_message(bases["message"][1])
    c.ok("negative base bundle and message accepted", True)
    n = 0
    for i, case in enumerate(doc["cases"]):
        data = H(case["input"])
        what = f"negative[{i}] {case['kind']}: {case['reason']}"
        c.ok(f"{what}: differs from its base input", data not in bases.get(case["kind"], []))
        if case["kind"] == "bundle":
            fn = lambda: verify_bundle(decode_bundle(data))  # noqa: E731
        elif case["kind"] == "message":
            fn = lambda: decode_any_message(data)  # noqa: E731
        elif case["kind"] == "session_record":
            fn = lambda: decode_record(data)  # noqa: E731
        elif case["kind"] == "upload":
            fn = lambda: decode_upload(data)  # noqa: E731
        else:
            c.ok(f"{what}: known kind", False)
            continue
        c.rejects(what, fn, case["error"])
        n += 1
    ini = setup["initiator"]
    for i, case in enumerate(doc["decrypt_cases"]):
        what = f"negative decrypt[{i}] {case['operation']}: {case['reason']}"
        data = H(case["input"])
        op = case["operation"]
        if op == "respond":
            keys = responder_keys(setup)
            c.rejects(what, lambda: responder_setup(keys, data, H(case["context"]), Bounds()), case["error"])
        elif op == "deliver":
            who = case["to"]
            if not c.ok(f"{what}: to alice or bob", who in ("alice", "bob")):
                continue
            state = (alice if who == "alice" else bob).clone()
            before = encode_record(state)
            c.rejects(what, lambda: deliver(state, data, responder_keys(setup), ctx0, Bounds()), case["error"])
            c.eq(f"{what}: {who}'s state unchanged", encode_record(state), before)
        elif op == "initiate":
            b = decode_bundle(data)
            verify_bundle(b)
            c.ok(f"{what}: the bundle verifies", True)
            c.rejects(what, lambda: initiator_setup(H(ini["identity_secret"]), data, H(ini["base_private"]),
                                                    H(ini["kem_encaps_m"]), ctx0, Bounds()), case["error"])
        else:
            c.ok(f"{what}: known operation", False)
            continue
        n += 1
    return n


# safety-number.json (§11) ---------------------------------------------------

SAFETY_NUMBER = b"KINSEAL-v1 safety number\0"
SN_DEVICE_VERSION = 0x01  # two devices' identity keys
SN_USER_VERSION = 0x02  # two users' identity keys
SN_ITERATIONS = 5200
T_SAFETY_NUMBER = 0x40
SN_QR_LEN = 66


def u16(v: int) -> bytes:
    return v.to_bytes(2, "big")


def sn_hashes(key: bytes, sv: int) -> list[bytes]:
    """§11.1: h_0 .. h_5199 of one key under safety-number version sv."""
    hs = [sha512(SAFETY_NUMBER + u16(sv) + key)]
    for _ in range(1, SN_ITERATIONS):
        hs.append(sha512(hs[-1] + key))
    return hs


def sn_chunks(fp: bytes) -> list[int]:
    """§11.1: six 40-bit big-endian integers from fp[0..30], mod 100000."""
    return [int.from_bytes(fp[5 * j:5 * j + 5], "big") % 100000 for j in range(6)]


def sn_digits(fp: bytes) -> str:
    return "".join(f"{c:05d}" for c in sn_chunks(fp))


def sn_sort_key(fp: bytes):
    """§11.2: digits first, then the fingerprint bytes."""
    return (sn_digits(fp), fp)


def safety_number(k1: bytes, k2: bytes, sv: int) -> tuple[str, bytes]:
    """§11.2-11.4: the 60 digits and the 66-byte QR payload."""
    lo, hi = sorted((sn_hashes(k1, sv)[-1][:32], sn_hashes(k2, sv)[-1][:32]), key=sn_sort_key)
    return sn_digits(lo) + sn_digits(hi), u8(sv) + u8(T_SAFETY_NUMBER) + lo + hi


def decode_safety_qr(b: bytes) -> tuple[int, bytes, bytes]:
    """§11.4 reader rules 1-4, in their order: (SV, fp(lo), fp(hi))."""
    if len(b) < 1:
        raise ProtocolError("Truncated", "version byte")
    if b[0] not in (SN_DEVICE_VERSION, SN_USER_VERSION):
        raise ProtocolError("UnsupportedVersion", f"{b[0]}")
    if len(b) < 2:
        raise ProtocolError("Truncated", "type byte")
    if b[1] != T_SAFETY_NUMBER:
        raise ProtocolError("UnexpectedType", f"{b[1]:#x}")
    if len(b) < SN_QR_LEN:
        raise ProtocolError("Truncated", f"{len(b)} bytes")
    if len(b) > SN_QR_LEN:
        raise ProtocolError("TrailingBytes", f"{len(b) - SN_QR_LEN}")
    lo, hi = b[2:34], b[34:66]
    if sn_sort_key(lo) > sn_sort_key(hi):
        raise ProtocolError("InvalidField", "fingerprint order")
    return b[0], lo, hi


def compare_safety_qr(ours: bytes, scanned: bytes) -> str:
    """§11.4: decode (rules 1-4), refuse the other version (rule 5), then
    match when both fingerprints equal the reader's own."""
    sv, lo, hi = decode_safety_qr(scanned)
    if sv != ours[0]:
        raise ProtocolError("SafetyNumberVersionMismatch", f"{sv} against {ours[0]}")
    return "match" if ours[2:] == lo + hi else "mismatch"


def check_safety_cases(c: Checker, cases: list, sv: int, key_name: str, group: str) -> list[bytes]:
    ours: list[bytes] = []
    for i, case in enumerate(cases):
        tag = f"safety {group}[{i}] ({case['description']})"
        halves = {}
        for side in ("a", "b"):
            k = case[f"key_{side}"]
            key = H(k[key_name])
            validate_identity_key(key)  # §3.1: device and user keys alike
            hs = sn_hashes(key, sv)
            c.eq(f"{tag} {side} h0", hs[0], H(k["h0"]))
            c.eq(f"{tag} {side} h1", hs[1], H(k["h1"]))
            c.eq(f"{tag} {side} h5199", hs[SN_ITERATIONS - 1], H(k["h5199"]))
            fp = hs[-1][:32]
            c.eq(f"{tag} {side} fingerprint", fp, H(k["fingerprint"]))
            c.eq(f"{tag} {side} chunks", sn_chunks(fp), k["chunks"])
            c.eq(f"{tag} {side} digits", sn_digits(fp), k["digits"])
            halves[side] = (key, fp)
        (ka, fpa), (kb, fpb) = halves["a"], halves["b"]
        low = "a" if sn_sort_key(fpa) <= sn_sort_key(fpb) else "b"
        c.eq(f"{tag} low half", low, case["low"])
        digits, qr = safety_number(ka, kb, sv)
        c.eq(f"{tag} digits", digits, case["digits"])
        c.ok(f"{tag} 60 ASCII digits", len(digits) == 60 and all(ch in "0123456789" for ch in digits))
        groups = [digits[5 * g:5 * g + 5] for g in range(12)]
        c.eq(f"{tag} groups", groups, case["groups"])
        c.eq(f"{tag} display", " ".join(groups), case["display"])
        c.eq(f"{tag} display length", len(case["display"]), 71)
        c.eq(f"{tag} QR payload", qr, H(case["qr"]))
        c.eq(f"{tag} QR version byte", qr[0], sv)
        # symmetry: the other order gives the same number
        c.eq(f"{tag} symmetric", safety_number(kb, ka, sv), (digits, qr))
        c.eq(f"{tag} QR decodes to its fingerprints", decode_safety_qr(qr),
             (sv,) + tuple(sorted((fpa, fpb), key=sn_sort_key)))
        # the same key bytes under the other version give other digits
        other = SN_USER_VERSION if sv == SN_DEVICE_VERSION else SN_DEVICE_VERSION
        c.ok(f"{tag} differs from the other version's", safety_number(ka, kb, other)[0] != digits)
        ours.append(qr)
    return ours


def check_safety_scans(c: Checker, scans: list, ours: list[bytes], group: str) -> int:
    n = 0
    for i, case in enumerate(scans):
        what = f"safety {group}[{i}] ({case['reason']})"
        data = H(case["input"])
        against = case["against"]
        if not c.ok(f"{what}: names a case", 0 <= against < len(ours)):
            continue
        want = case["outcome"]
        if want in ("match", "mismatch"):
            try:
                got = compare_safety_qr(ours[against], data)
            except ProtocolError as e:
                got = e.kind
            c.eq(what, got, want)
        else:
            c.rejects(what, lambda: compare_safety_qr(ours[against], data), want)
        n += 1
    return n


def check_safety_numbers(c: Checker) -> int:
    doc = load("safety-number.json")
    c.eq("safety: version", doc["version"], SN_DEVICE_VERSION)
    c.eq("safety: user version", doc["user_version"], SN_USER_VERSION)
    c.eq("safety: label", H(doc["label"]), SAFETY_NUMBER)
    c.eq("safety: iterations", doc["iterations"], SN_ITERATIONS)
    c.eq("safety: QR type byte", doc["qr_type"], T_SAFETY_NUMBER)
    devices = check_safety_cases(c, doc["cases"], SN_DEVICE_VERSION, "identity_public", "cases")
    users = check_safety_cases(c, doc["user_cases"], SN_USER_VERSION, "user_public", "user_cases")
    # user case 4 is device case 0's key bytes as user keys (§11: SV in h_0)
    d0, u4 = doc["cases"][0], doc["user_cases"][4]
    c.eq("safety: user case 4 has device case 0's keys",
         (u4["key_a"]["user_public"], u4["key_b"]["user_public"]),
         (d0["key_a"]["identity_public"], d0["key_b"]["identity_public"]))
    c.ok("safety: user case 4's digits are not device case 0's", u4["digits"] != d0["digits"])
    n = len(devices) + len(users)
    n += check_safety_scans(c, doc["qr_cases"], devices, "qr")
    n += check_safety_scans(c, doc["user_qr_cases"], users, "user qr")
    return n


# addressing.json (§4.5-§4.7) -------------------------------------------------


def check_addressing(c: Checker) -> int:
    doc = load("addressing.json")
    types = doc["type_bytes"]
    c.eq("addressing: type bytes", (types["user_address"], types["device_address"], types["prekey_counts"],
                                    types["envelope"]), (T_USER_ADDRESS, T_DEVICE_ADDRESS, T_PREKEY_COUNTS, T_ENVELOPE))

    def device(v) -> tuple:
        return H(v["app_id"]), H(v["user_id"]), v["device_id"]

    n = 0
    for i, case in enumerate(doc["user_addresses"]):
        a, enc = (H(case["app_id"]), H(case["user_id"])), H(case["encoding"])
        c.eq(f"user_address[{i}] encode", u8(VERSION) + u8(T_USER_ADDRESS) + encode_user_address_embedded(*a), enc)
        c.eq(f"user_address[{i}] decode", decode_user_address(enc), a)
        n += 1
    for i, case in enumerate(doc["device_addresses"]):
        a, enc = device(case), H(case["encoding"])
        c.eq(f"device_address[{i}] encode", u8(VERSION) + u8(T_DEVICE_ADDRESS) + encode_device_address_embedded(a), enc)
        c.eq(f"device_address[{i}] decode", decode_device_address(enc), a)
        n += 1
    for i, case in enumerate(doc["prekey_counts"]):
        counts, enc = (case["one_time"], case["kem"]), H(case["encoding"])
        c.eq(f"prekey_counts[{i}] encode", encode_prekey_counts(*counts), enc)
        c.eq(f"prekey_counts[{i}] decode", decode_prekey_counts(enc), counts)
        n += 1
    for i, case in enumerate(doc["envelopes"]):
        what = f"envelope[{i}]"
        sender, recipient, message = device(case["sender"]), device(case["recipient"]), H(case["message"])
        enc = H(case["encoding"])
        c.eq(f"{what} encode", encode_envelope(sender, recipient, message), enc)
        c.eq(f"{what} decode", decode_envelope(enc), (sender, recipient, case["message_kind"], message))
        # the recipient's own decoding of the message, keys included (§4)
        if case["message_error"] is None:
            decode_any_message(message)
            c.ok(f"{what} message decodes", True)
        else:
            c.rejects(f"{what} message", lambda: decode_any_message(message), case["message_error"])
        n += 1
    decoders = {
        "user_address": decode_user_address,
        "device_address": decode_device_address,
        "prekey_counts": decode_prekey_counts,
        "envelope": decode_envelope,
    }
    for i, case in enumerate(doc["cases"]):
        what = f"addressing negative[{i}] {case['kind']}: {case['reason']}"
        if not c.ok(f"{what}: known kind", case["kind"] in decoders):
            continue
        data, decode = H(case["input"]), decoders[case["kind"]]
        part = []

        def run():
            try:
                decode(data)
            except ProtocolError as e:
                part.append(getattr(e, "part", "self"))
                raise

        c.rejects(what, run, case["error"])
        c.eq(f"{what}: rejected in", part[:1], [case["part"]])
        n += 1
    # §6.6: an account's session context binds both device addresses,
    # initiator first, ahead of the app's context; §6.3 then hashes it.
    for i, case in enumerate(doc["bound_contexts"]):
        what = f"bound context[{i}] {case['name']}"
        ctx = (BOUND_ADDRESSES + encode_device_address_embedded(device(case["initiator"]))
               + encode_device_address_embedded(device(case["responder"])) + H(case["app_context"]))
        c.ok(f"{what}: within MAX_CONTEXT_LEN", len(ctx) <= MAX_CONTEXT_LEN)
        c.eq(f"{what}: context", ctx, H(case["context"]))
        ad = session_ad(H(case["initiator_identity_key"]), H(case["responder_identity_key"]), ctx)
        c.eq(f"{what}: session AD", ad, H(case["session_ad"]))
        n += 1
    return n


# device-list.json (§12) -----------------------------------------------------

T_DEVICE_LIST = 0x52
SIG_DEVICE_LIST = b"KINSEAL-v1 device list\0"
DEVICE_LIST_HASH = b"KINSEAL-v1 device list hash\0"
MAX_DEVICES_PER_USER = 16


@dataclass
class DeviceListV:
    user_key: bytes
    app_id: bytes
    user_id: bytes
    version: int
    previous_hash: bytes
    created_at: int
    devices: list  # (device_id, identity_key, added_at), ascending by id
    body: bytes
    signature: bytes

    def encoding(self) -> bytes:
        return self.body + self.signature

    def hash(self) -> bytes:
        return sha256(DEVICE_LIST_HASH + self.encoding())  # §12.2


def encode_device_list_body(user_key, app_id, user_id, version, previous_hash, created_at, devices) -> bytes:
    """§12.1, everything before the signature."""
    out = u8(VERSION) + u8(T_DEVICE_LIST) + u8(SUITE) + user_key
    out += encode_user_address_embedded(app_id, user_id)
    out += u64(version) + previous_hash + u64(created_at) + u8(len(devices))
    for device_id, ik, added_at in devices:
        out += u32(device_id) + ik + u64(added_at)
    return out


def decode_device_list(data: bytes) -> DeviceListV:
    """§12.3 steps 1-3: structure, keys, consistency."""
    r = Reader(data)
    read_prefix(r, T_DEVICE_LIST, with_suite=True)
    user_key = r.take(32)
    app_id, user_id = read_user_address_embedded(r)  # §4.5
    version = r.u64()
    if version == 0:
        raise ProtocolError("InvalidField", "list_version 0")
    previous_hash = r.take(32)
    created_at = r.u64()
    count = r.u8()
    if not 1 <= count <= MAX_DEVICES_PER_USER:
        raise ProtocolError("LengthOutOfRange", f"device_count {count}")
    devices = [(r.u32(), r.take(32), r.u64()) for _ in range(count)]
    body = data[: r.pos]
    signature = r.take(64)
    r.finish()
    # step 2: keys, the user key first, then the devices' in order
    validate_identity_key(user_key)
    for _, ik, _ in devices:
        validate_identity_key(ik)
    # step 3: consistency, in field order
    if (previous_hash == bytes(32)) != (version == 1):
        raise ProtocolError("InvalidField", "previous_hash zero iff list_version = 1")
    ids = [d[0] for d in devices]
    if any(a >= b for a, b in zip(ids, ids[1:])):
        raise ProtocolError("InvalidField", "device ids not strictly ascending")
    if len({d[1] for d in devices}) != len(devices):
        raise ProtocolError("InvalidField", "an identity key listed twice")
    return DeviceListV(user_key, app_id, user_id, version, previous_hash, created_at, devices, body, signature)


def verify_device_list(data: bytes) -> DeviceListV:
    """§12.3: decode, then step 4, the signature."""
    dl = decode_device_list(data)
    verify_strict(dl.user_key, SIG_DEVICE_LIST, dl.body, dl.signature)
    return dl


def device_list_successor(cur: DeviceListV, nxt: DeviceListV) -> dict:
    """§12.4, in its order; the result as the vectors spell it."""
    if nxt.user_key != cur.user_key:
        return {"outcome": "UserKeyChanged"}
    if (nxt.app_id, nxt.user_id) != (cur.app_id, cur.user_id):
        return {"outcome": "AddressMismatch"}
    if nxt.version < cur.version:
        return {"outcome": "Rollback", "current": cur.version, "found": nxt.version}
    if nxt.version == cur.version:
        if nxt.hash() == cur.hash():
            return {"outcome": "Unchanged"}
        return {"outcome": "Fork", "version": cur.version}
    if nxt.version > cur.version + 1:
        return {"outcome": "Gap", "current": cur.version, "found": nxt.version}
    if nxt.previous_hash != cur.hash():
        return {"outcome": "Fork", "version": cur.version}
    return device_list_diff(cur, nxt)


def device_list_diff(old: DeviceListV, new: DeviceListV) -> dict:
    before = {d[0]: d[1] for d in old.devices}
    after = {d[0]: d[1] for d in new.devices}
    return {
        "outcome": "Advanced",
        "added": sorted(i for i in after if i not in before),
        "removed": sorted(i for i in before if i not in after),
        "replaced": sorted(i for i in after if i in before and after[i] != before[i]),
    }


def device_list_chain(cur: DeviceListV, lists: list) -> dict:
    """§12.4: each list checked against the one before; the net change."""
    start = cur
    for nxt in lists:
        step = device_list_successor(cur, nxt)
        if step["outcome"] not in ("Unchanged", "Advanced"):
            return step
        cur = nxt
    if cur.hash() == start.hash():
        return {"outcome": "Unchanged"}
    return device_list_diff(start, cur)


def check_device_lists(c: Checker) -> int:
    doc = load("device-list.json")
    c.eq("device list: type byte", doc["type_byte"], T_DEVICE_LIST)
    c.eq("device list: signature label", H(doc["signature_label"]), SIG_DEVICE_LIST)
    c.eq("device list: hash label", H(doc["hash_label"]), DEVICE_LIST_HASH)
    sk = H(doc["user_secret"])
    user_public = identity_public(sk)
    chain = []
    n = 0
    for group in ("lists", "other_lists"):
        for i, case in enumerate(doc[group]):
            tag = f"device list {group}[{i}] ({case['description']})"
            devices = [(d["device_id"], H(d["identity_public"]), d["added_at"]) for d in case["devices"]]
            body = encode_device_list_body(H(case["user_public"]), H(case["app_id"]), H(case["user_id"]),
                                           case["list_version"], H(case["previous_hash"]), case["created_at"],
                                           devices)
            c.eq(f"{tag} body", body, H(case["body"]))
            c.eq(f"{tag} signed message", SIG_DEVICE_LIST + body, H(case["signed_message"]))
            if H(case["user_public"]) == user_public:
                # Ed25519 is deterministic (RFC 8032): the signature recomputes
                c.eq(f"{tag} signature", sign(sk, SIG_DEVICE_LIST, body), H(case["signature"]))
            enc = body + H(case["signature"])
            c.eq(f"{tag} encoding", enc, H(case["encoding"]))
            dl = verify_device_list(enc)
            c.ok(f"{tag} decodes and verifies", True)
            c.eq(f"{tag} re-encodes", dl.encoding(), enc)
            c.eq(f"{tag} hash", dl.hash(), H(case["hash"]))
            c.eq(f"{tag} devices", dl.devices, devices)
            if group == "lists":
                c.eq(f"{tag} user key is the user's", dl.user_key, user_public)
                chain.append(dl)
            n += 1
    for i, dl in enumerate(chain):
        want = bytes(32) if i == 0 else chain[i - 1].hash()
        c.eq(f"device list chain[{i}] version", dl.version, i + 1)
        c.eq(f"device list chain[{i}] previous hash", dl.previous_hash, want)
    for i, case in enumerate(doc["negative"]):
        what = f"device list negative[{i}]: {case['reason']}"
        data = H(case["input"])
        c.rejects(what, lambda: verify_device_list(data), case["error"])
        n += 1
    keys = ("outcome", "added", "removed", "replaced", "current", "found", "version")
    for i, case in enumerate(doc["successor_cases"]):
        what = f"device list successor[{i}]: {case['description']}"
        cur, nxt = verify_device_list(H(case["current_list"])), verify_device_list(H(case["next_list"]))
        want = {k: case[k] for k in keys if k in case}
        c.eq(what, device_list_successor(cur, nxt), want)
        n += 1
    for i, case in enumerate(doc["chain_cases"]):
        what = f"device list chain case[{i}]: {case['description']}"
        cur = verify_device_list(H(case["current_list"]))
        lists = [verify_device_list(H(x)) for x in case["lists"]]
        want = {k: case[k] for k in keys if k in case}
        c.eq(what, device_list_chain(cur, lists), want)
        n += 1
    return n


# ===========================================================================
# provisioning.json (§13, linking a device) — begin
# ===========================================================================

T_LINK_CODE, T_PROVISIONING_MESSAGE, T_PROVISIONING_PAYLOAD = 0x53, 0x54, 0x55
PROVISIONING = b"KINSEAL-v1 provisioning\0"
PROVISIONING_HEADER_LEN = 3 + 32 + 4
PROVISIONING_PAYLOAD_FIXED = 2 + 32 + 4
MIN_DEVICE_LIST_LEN, MAX_DEVICE_LIST_LEN = 197, 1175  # §12.1
MIN_PROVISIONING_CT = PROVISIONING_PAYLOAD_FIXED + MIN_DEVICE_LIST_LEN + 16  # 251
MAX_PROVISIONING_CT = PROVISIONING_PAYLOAD_FIXED + MAX_DEVICE_LIST_LEN + 16  # 1229


def encode_link_code(q_pub: bytes, ik_n: bytes) -> bytes:
    """§13.2."""
    return u8(VERSION) + u8(T_LINK_CODE) + u8(SUITE) + q_pub + ik_n


def decode_link_code(data: bytes) -> tuple[bytes, bytes]:
    """§13.2: structure, then Q (§3.2), then IK_N (§3.1)."""
    r = Reader(data)
    read_prefix(r, T_LINK_CODE, with_suite=True)
    q_pub, ik_n = r.take(32), r.take(32)
    r.finish()
    validate_x25519_public(q_pub)
    validate_identity_key(ik_n)
    return q_pub, ik_n


def provisioning_header(e_pub: bytes, ct_len: int) -> bytes:
    """§13.3: the first 39 bytes, the AEAD's associated data."""
    return u8(VERSION) + u8(T_PROVISIONING_MESSAGE) + u8(SUITE) + e_pub + u32(ct_len)


def provisioning_payload(user_secret: bytes, device_id: int, device_list: bytes) -> bytes:
    """§13.3, the payload."""
    return u8(VERSION) + u8(T_PROVISIONING_PAYLOAD) + user_secret + u32(device_id) + device_list


def provisioning_info(code: bytes, e_pub: bytes) -> bytes:
    """§13.4: the HKDF info."""
    return PROVISIONING + code + e_pub


def provisioning_okm(shared: bytes, info: bytes) -> tuple[bytes, bytes]:
    """§13.4: key ‖ nonce = HKDF(0x00×32, shared, info, 44)."""
    okm = hkdf(bytes(32), shared, info, 44)
    return okm[:32], okm[32:]


def seal_provisioning(e: bytes, code: bytes, payload: bytes, info: Optional[bytes] = None,
                      ad: Optional[bytes] = None) -> bytes:
    """§13.4 from the sender's ephemeral secret; `info` and `ad` replace
    the schedule's own (for the vectors sealed wrongly on purpose)."""
    e_pub = x25519_base(e)
    header = provisioning_header(e_pub, len(payload) + 16)
    key, nonce = provisioning_okm(dh(e, code[3:35]), provisioning_info(code, e_pub) if info is None else info)
    return header + aead_seal(key, nonce, header if ad is None else ad, payload)


def link_fit(dl: DeviceListV, user_public: bytes, device_id: int, ik_n: bytes) -> None:
    """§13.5: the sender's three checks, the receiver's steps 7-9."""
    if dl.user_key != user_public:
        raise ProtocolError("UserKeyMismatch", "list signed by another user key")
    entries = dict((d[0], d[1]) for d in dl.devices)
    if device_id not in entries:
        raise ProtocolError("DeviceNotListed", f"device {device_id}")
    if entries[device_id] != ik_n:
        raise ProtocolError("DeviceKeyMismatch", f"device {device_id}")


def open_provisioning(q: bytes, ik_n: bytes, code: bytes, data: bytes):
    """§13.5 steps 1-9; returns (user_secret, device_id, verified list)."""
    r = Reader(data)
    read_prefix(r, T_PROVISIONING_MESSAGE, with_suite=True)  # step 1
    e_pub = r.take(32)
    n = r.u32()
    if not MIN_PROVISIONING_CT <= n <= MAX_PROVISIONING_CT:
        raise ProtocolError("LengthOutOfRange", f"ciphertext_len {n}")
    ct = r.take(n)
    r.finish()
    validate_x25519_public(e_pub)  # step 2
    shared = dh(q, e_pub)  # step 3
    key, nonce = provisioning_okm(shared, provisioning_info(code, e_pub))
    payload = aead_open(key, nonce, data[:PROVISIONING_HEADER_LEN], ct)  # step 4
    p = Reader(payload)
    read_prefix(p, T_PROVISIONING_PAYLOAD, with_suite=False)  # step 5
    user_secret, device_id = p.take(32), p.u32()
    dl = verify_device_list(p.rest())  # step 6 (§12.3)
    link_fit(dl, identity_public(user_secret), device_id, ik_n)  # steps 7-9
    return user_secret, device_id, dl


def check_provisioning(c: Checker) -> int:
    doc = load("provisioning.json")
    c.eq("provisioning: link code type", doc["link_code_type"], T_LINK_CODE)
    c.eq("provisioning: message type", doc["provisioning_message_type"], T_PROVISIONING_MESSAGE)
    c.eq("provisioning: payload type", doc["provisioning_payload_type"], T_PROVISIONING_PAYLOAD)
    c.eq("provisioning: label", H(doc["provisioning_label"]), PROVISIONING)
    n = 0
    for i, case in enumerate(doc["cases"]):
        tag = f"provisioning cases[{i}] ({case['description']})"
        ik_n = identity_public(H(case["device_identity_secret"]))
        c.eq(f"{tag} device identity", ik_n, H(case["device_identity_public"]))
        q = H(case["request_ephemeral_secret"])
        q_pub = x25519_base(q)
        c.eq(f"{tag} request ephemeral public", q_pub, H(case["request_ephemeral_public"]))
        code = encode_link_code(q_pub, ik_n)
        c.eq(f"{tag} link code", code, H(case["link_code"]))
        c.eq(f"{tag} link code decodes", decode_link_code(code), (q_pub, ik_n))
        user_secret = H(case["user_secret"])
        c.eq(f"{tag} user public", identity_public(user_secret), H(case["user_public"]))
        e = H(case["sender_ephemeral_secret"])
        e_pub = x25519_base(e)
        c.eq(f"{tag} sender ephemeral public", e_pub, H(case["sender_ephemeral_public"]))
        shared = dh(e, q_pub)
        c.eq(f"{tag} shared secret", shared, H(case["shared_secret"]))
        c.eq(f"{tag} shared secret, the new device's side", dh(q, e_pub), shared)
        info = provisioning_info(code, e_pub)
        c.eq(f"{tag} HKDF info", info, H(case["hkdf_info"]))
        key, nonce = provisioning_okm(shared, info)
        c.eq(f"{tag} key", key, H(case["key"]))
        c.eq(f"{tag} nonce", nonce, H(case["nonce"]))
        device_list = H(case["device_list"])
        payload = provisioning_payload(user_secret, case["device_id"], device_list)
        c.eq(f"{tag} payload", payload, H(case["payload"]))
        header = provisioning_header(e_pub, len(payload) + 16)
        c.eq(f"{tag} header", header, H(case["header"]))
        message = header + aead_seal(key, nonce, header, payload)
        c.eq(f"{tag} message", message, H(case["message"]))
        c.eq(f"{tag} message, sealed again", seal_provisioning(e, code, payload), message)
        c.ok(f"{tag} length", 39 + MIN_PROVISIONING_CT <= len(message) <= 39 + MAX_PROVISIONING_CT)
        got_secret, got_id, dl = open_provisioning(q, ik_n, code, message)
        c.eq(f"{tag} opens", (got_secret, got_id, dl.encoding()), (user_secret, case["device_id"], device_list))
        c.eq(f"{tag} list hash", dl.hash(), H(case["device_list_hash"]))
        address = u8(VERSION) + u8(T_DEVICE_ADDRESS) + encode_device_address_embedded(
            (dl.app_id, dl.user_id, case["device_id"]))
        c.eq(f"{tag} device address", address, H(case["device_address"]))
        n += 1
    for i, case in enumerate(doc["link_code_negative"]):
        data = H(case["input"])
        c.rejects(f"link code negative[{i}]: {case['reason']}", lambda: decode_link_code(data), case["error"])
        n += 1
    requests = []
    for i, r in enumerate(doc["requests"]):
        q = H(r["request_ephemeral_secret"])
        ik_n = identity_public(H(r["device_identity_secret"]))
        code = encode_link_code(x25519_base(q), ik_n)
        c.eq(f"provisioning requests[{i}] link code", code, H(r["link_code"]))
        requests.append((q, ik_n, code))
    for i, case in enumerate(doc["negative"]):
        what = f"provisioning negative[{i}]: {case['reason']}"
        q, ik_n, code = requests[case["request"]]
        data = H(case["message"])
        sealed = case.get("sealed_by_hand")
        if sealed is not None:
            # The message is exactly what sealing its payload, with its
            # info and AD, under its sender's secret gives.
            again = seal_provisioning(H(sealed["sender_ephemeral_secret"]), code, H(sealed["payload"]),
                                      H(sealed["hkdf_info"]), H(sealed["ad"]))
            c.eq(f"{what}: sealed as described", again, data)
        c.rejects(what, lambda: open_provisioning(q, ik_n, code, data), case["error"])
# receipt.json (§14) ---------------------------------------------------------

T_RECEIPT = 0x61
SIG_RECEIPT = b"KINSEAL-v1 decryption-error receipt\0"
RECEIPT_REASONS = {0x01: "NoSession", 0x02: "DecryptionFailed", 0x03: "UnknownPreKey", 0x04: "UnknownDevice"}
MIN_RECEIPT_LEN, MAX_RECEIPT_LEN = 159, 803


@dataclass
class ReceiptV:
    sender_device: tuple  # "from": the device that could not decrypt
    recipient_device: tuple  # "to": the failed message's sender
    reason: int
    failed: dict
    created_at: int
    identity_key: bytes
    body: bytes
    signature: bytes


def encode_receipt_locator(failed: dict) -> bytes:
    """§14.1: the kind byte (the failed message's type byte), then its fields."""
    if failed["kind"] == "Message":
        return u8(T_MESSAGE) + H(failed["ratchet_key"]) + u32(failed["index"]) + u32(failed["previous_length"])
    return u8(T_PREKEY_MESSAGE) + H(failed["handshake_id"])


def encode_receipt_body(frm: tuple, to: tuple, reason: int, failed: dict, created_at: int, ik: bytes) -> bytes:
    return (u8(VERSION) + u8(T_RECEIPT) + u8(SUITE) + encode_device_address_embedded(frm)
            + encode_device_address_embedded(to) + u8(reason) + encode_receipt_locator(failed)
            + u64(created_at) + ik)


def decode_receipt(data: bytes) -> ReceiptV:
    """§14.2 steps 1-2: structure front to back, then the identity key."""
    r = Reader(data)
    read_prefix(r, T_RECEIPT, with_suite=True)
    frm = read_device_address_embedded(r)
    to = read_device_address_embedded(r)
    reason = r.u8()
    if reason not in RECEIPT_REASONS:
        raise ProtocolError("InvalidField", f"reason 0x{reason:02x}")
    kind = r.u8()
    if kind == T_MESSAGE:
        failed = {"kind": "Message", "ratchet_key": r.take(32).hex(), "index": r.u32(), "previous_length": r.u32()}
    elif kind == T_PREKEY_MESSAGE:
        failed = {"kind": "PreKeyMessage", "handshake_id": r.take(32).hex()}
    else:
        raise ProtocolError("InvalidField", f"failed_kind 0x{kind:02x}")
    created_at = r.u64()
    ik = r.take(32)
    body = data[: r.pos]
    signature = r.take(64)
    r.finish()
    validate_identity_key(ik)  # §3.1
    return ReceiptV(frm, to, reason, failed, created_at, ik, body, signature)


def verify_receipt(data: bytes) -> ReceiptV:
    """§14.2: decode, then step 3, the signature under the receipt's own key."""
    rc = decode_receipt(data)
    verify_strict(rc.identity_key, SIG_RECEIPT, rc.body, rc.signature)
    return rc


def receipt_locator(data: bytes) -> dict:
    """§14.1: a message's locator from its structure (§4.2, §4.3), keys not
    validated; a PreKeyMessage's is its handshake id (§6.5)."""
    kind = check_message_structure(data)
    if kind == "Message":
        m = read_message(Reader(data))
        return {"kind": "Message", "ratchet_key": m.ratchet_key.hex(), "index": m.n, "previous_length": m.pn}
    r = Reader(data)
    read_prefix(r, T_PREKEY_MESSAGE, True)
    ik_a, spk_id = r.take(32), r.u32()
    opk_id = r.u32() if r.flag() else None
    kem_id, ct = r.u32(), r.take(CT_LEN)
    m = read_message(r)
    return {"kind": "PreKeyMessage", "handshake_id": handshake_id(ik_a, m.ratchet_key, SetupData(spk_id, opk_id, kem_id, ct)).hex()}


def check_receipts(c: Checker) -> int:
    doc = load("receipt.json")
    c.eq("receipt: type byte", doc["type_byte"], T_RECEIPT)
    c.eq("receipt: signature label", H(doc["signature_label"]), SIG_RECEIPT)
    sk = H(doc["identity_secret"])
    ik = identity_public(sk)

    def device(v) -> tuple:
        return H(v["app_id"]), H(v["user_id"]), v["device_id"]

    n = 0
    lengths = []
    for i, case in enumerate(doc["receipts"]):
        tag = f"receipt[{i}] ({case['description']})"
        # the locator, from the failed message itself
        locator = receipt_locator(H(case["failed_message"]))
        c.eq(f"{tag} locator", locator, case["failed"])
        if locator["kind"] == "PreKeyMessage":
            # the handshake id of the message decoded in full (keys valid)
            pk = decode_prekey_message(H(case["failed_message"]))
            c.eq(f"{tag} handshake id", handshake_id(pk.ik_a, pk.message.ratchet_key, pk.setup).hex(),
                 case["failed"]["handshake_id"])
        c.eq(f"{tag} reason", RECEIPT_REASONS.get(case["reason_code"]), case["reason"])
        c.eq(f"{tag} identity key", H(case["identity_public"]), ik)
        body = encode_receipt_body(device(case["from"]), device(case["to"]), case["reason_code"], locator,
                                   case["created_at"], ik)
        c.eq(f"{tag} body", body, H(case["body"]))
        c.eq(f"{tag} signed message", SIG_RECEIPT + body, H(case["signed_message"]))
        # Ed25519 is deterministic (RFC 8032): the signature recomputes
        c.eq(f"{tag} signature", sign(sk, SIG_RECEIPT, body), H(case["signature"]))
        enc = body + H(case["signature"])
        c.eq(f"{tag} encoding", enc, H(case["encoding"]))
        rc = verify_receipt(enc)
        c.ok(f"{tag} decodes and verifies", True)
        c.eq(f"{tag} decoded fields", (rc.sender_device, rc.recipient_device, rc.reason, rc.failed, rc.created_at),
             (device(case["from"]), device(case["to"]), case["reason_code"], locator, case["created_at"]))
        c.eq(f"{tag} re-encodes", rc.body + rc.signature, enc)
        lengths.append(len(enc))
        n += 1
    c.eq("receipt: the shortest and longest lengths", (min(lengths), max(lengths)), (MIN_RECEIPT_LEN, MAX_RECEIPT_LEN))
    for i, case in enumerate(doc["negative"]):
        what = f"receipt negative[{i}]: {case['reason']}"
        data = H(case["input"])
        c.rejects(what, lambda: verify_receipt(data), case["error"])
        n += 1
    for i, case in enumerate(doc["locators"]):
        what = f"receipt locator[{i}]: {case['reason']}"
        data = H(case["input"])
        if "error" in case:
            c.rejects(what, lambda: receipt_locator(data), case["error"])
        else:
            c.eq(what, receipt_locator(data), case["failed"])
# account-link.json (§15): account links, proposals, revocations.
# (This section is self-contained; it ends at the matching "end" rule.)
# ===========================================================================

T_ACCOUNT_LINK, T_LINK_REVOCATION, T_ACCOUNT_LINK_PROPOSAL = 0x56, 0x57, 0x58
SIG_ACCOUNT_LINK = b"KINSEAL-v1 account link\0"
ACCOUNT_LINK_HASH = b"KINSEAL-v1 account link hash\0"
SIG_LINK_REVOCATION = b"KINSEAL-v1 link revocation\0"
LINK_REVOCATION_LEN = 139


@dataclass
class AccountLinkV:
    accounts: list  # two (user_key, app_id, user_id), ascending by key
    created_at: int
    body: bytes  # every byte before the signatures
    signatures: list  # the first account's, then the second's

    def encoding(self) -> bytes:
        return self.body + self.signatures[0] + self.signatures[1]

    def hash(self) -> bytes:
        return sha256(ACCOUNT_LINK_HASH + self.encoding())  # §15.1


def encode_link_body(accounts, created_at: int) -> bytes:
    """§15.1: the header, each account as user key ‖ embedded address, the time."""
    out = u8(VERSION) + u8(T_ACCOUNT_LINK) + u8(SUITE)
    for key, app_id, user_id in accounts:
        out += key + encode_user_address_embedded(app_id, user_id)
    return out + u64(created_at)


def read_link_accounts(r: Reader):
    """§15.1 structure: two accounts and the creation time."""
    accounts = []
    for _ in range(2):
        key = r.take(32)
        app_id, user_id = read_user_address_embedded(r)
        accounts.append((key, app_id, user_id))
    return accounts, r.u64()


def check_link_accounts(accounts) -> None:
    """§15.1 steps 2-3: keys in order, then the canonical order and the addresses."""
    for key, _, _ in accounts:
        validate_identity_key(key)
    (k1, a1, u1), (k2, a2, u2) = accounts
    if not k1 < k2:  # bytewise; equal keys refused too
        raise ProtocolError("InvalidField", "second user key not above the first")
    if (a1, u1) == (a2, u2):
        raise ProtocolError("InvalidField", "the same address twice")


def decode_account_link(data: bytes) -> AccountLinkV:
    r = Reader(data)
    read_prefix(r, T_ACCOUNT_LINK, with_suite=True)
    accounts, created_at = read_link_accounts(r)
    body = data[: r.pos]
    signatures = [r.take(64), r.take(64)]
    r.finish()
    check_link_accounts(accounts)
    return AccountLinkV(accounts, created_at, body, signatures)


def verify_account_link(data: bytes) -> AccountLinkV:
    """§15.1 step 4: the first account's signature, then the second's."""
    link = decode_account_link(data)
    for (key, _, _), sig in zip(link.accounts, link.signatures):
        verify_strict(key, SIG_ACCOUNT_LINK, link.body, sig)
    return link


def verify_link_proposal(data: bytes):
    """§15.2: structure (the proposer byte when read), keys, order, the
    proposer's signature of the link body.  Returns (link body, proposer
    index, accounts, signature)."""
    r = Reader(data)
    read_prefix(r, T_ACCOUNT_LINK_PROPOSAL, with_suite=True)
    proposer = r.u8()
    if proposer not in (0, 1):
        raise ProtocolError("InvalidField", f"proposer 0x{proposer:02x}")
    accounts, created_at = read_link_accounts(r)
    signature = r.take(64)
    r.finish()
    check_link_accounts(accounts)
    body = encode_link_body(accounts, created_at)
    verify_strict(accounts[proposer][0], SIG_ACCOUNT_LINK, body, signature)
    return body, proposer, accounts, signature


def decode_link_revocation(data: bytes):
    """§15.4: 139 bytes front to back, then the revoker's key."""
    r = Reader(data)
    read_prefix(r, T_LINK_REVOCATION, with_suite=True)
    link_hash, revoked_at, revoker = r.take(32), r.u64(), r.take(32)
    body = data[: r.pos]
    signature = r.take(64)
    r.finish()
    validate_identity_key(revoker)
    return link_hash, revoked_at, revoker, body, signature


def verify_link_revocation(data: bytes, link: AccountLinkV) -> None:
    """§15.4: the link's hash, a linked revoker, then the signature."""
    link_hash, _, revoker, body, signature = decode_link_revocation(data)
    if link_hash != link.hash():
        raise ProtocolError("OtherLink")
    if revoker not in (link.accounts[0][0], link.accounts[1][0]):
        raise ProtocolError("NotLinked")
    verify_strict(revoker, SIG_LINK_REVOCATION, body, signature)


def check_account_links(c: Checker) -> int:
    doc = load("account-link.json")
    c.eq("account link: type bytes",
         (doc["link_type_byte"], doc["revocation_type_byte"], doc["proposal_type_byte"]),
         (T_ACCOUNT_LINK, T_LINK_REVOCATION, T_ACCOUNT_LINK_PROPOSAL))
    c.eq("account link: link label", H(doc["link_label"]), SIG_ACCOUNT_LINK)
    c.eq("account link: hash label", H(doc["hash_label"]), ACCOUNT_LINK_HASH)
    c.eq("account link: revocation label", H(doc["revocation_label"]), SIG_LINK_REVOCATION)
    secrets = {identity_public(sk): sk for sk in map(H, doc["user_secrets"])}
    n = 0
    links = []
    for i, case in enumerate(doc["links"]):
        tag = f"account link links[{i}] ({case['description']})"
        accounts = [(H(a["user_public"]), H(a["app_id"]), H(a["user_id"])) for a in case["accounts"]]
        body = encode_link_body(accounts, case["created_at"])
        c.eq(f"{tag} body", body, H(case["body"]))
        c.eq(f"{tag} signed message", SIG_ACCOUNT_LINK + body, H(case["signed_message"]))
        c.ok(f"{tag} accounts in ascending order of key", accounts[0][0] < accounts[1][0])
        for which, (key, _, _) in zip(("first", "second"), accounts):
            c.eq(f"{tag} {which} signature", sign(secrets[key], SIG_ACCOUNT_LINK, body),
                 H(case[f"{which}_signature"]))
        enc = body + H(case["first_signature"]) + H(case["second_signature"])
        c.eq(f"{tag} encoding", enc, H(case["encoding"]))
        link = verify_account_link(enc)
        c.ok(f"{tag} decodes and verifies", True)
        c.eq(f"{tag} re-encodes", link.encoding(), enc)
        c.eq(f"{tag} hash", link.hash(), H(case["hash"]))
        links.append(link)
        n += 1
    c.ok("account link: two links of the same accounts have different hashes",
         links[0].hash() != links[1].hash())
    for i, case in enumerate(doc["proposals"]):
        tag = f"account link proposals[{i}] ({case['description']})"
        link = links[0]
        proposer = case["proposer"]
        key = link.accounts[proposer][0]
        c.eq(f"{tag} proposer key", key, H(case["proposer_public"]))
        c.eq(f"{tag} link body", link.body, H(case["link_body"]))
        signature = sign(secrets[key], SIG_ACCOUNT_LINK, link.body)
        c.eq(f"{tag} signature", signature, H(case["signature"]))
        enc = u8(VERSION) + u8(T_ACCOUNT_LINK_PROPOSAL) + u8(SUITE) + u8(proposer) + link.body[3:] + signature
        c.eq(f"{tag} encoding", enc, H(case["encoding"]))
        body, got_proposer, _, got_sig = verify_link_proposal(enc)
        c.eq(f"{tag} decodes and verifies", (body, got_proposer), (link.body, proposer))
        # Countersigning: the other key's signature of the same body, in its place.
        other = link.accounts[1 - proposer][0]
        sigs = [None, None]
        sigs[proposer], sigs[1 - proposer] = got_sig, sign(secrets[other], SIG_ACCOUNT_LINK, body)
        c.eq(f"{tag} countersigned is the link", body + sigs[0] + sigs[1], link.encoding())
        n += 1
    for i, case in enumerate(doc["revocations"]):
        tag = f"account link revocations[{i}] ({case['description']})"
        revoker = H(case["revoker"])
        body = (u8(VERSION) + u8(T_LINK_REVOCATION) + u8(SUITE) + H(case["link_hash"])
                + u64(case["revoked_at"]) + revoker)
        c.eq(f"{tag} body", body, H(case["body"]))
        c.eq(f"{tag} signed message", SIG_LINK_REVOCATION + body, H(case["signed_message"]))
        signature = sign(secrets[revoker], SIG_LINK_REVOCATION, body)
        c.eq(f"{tag} signature", signature, H(case["signature"]))
        c.eq(f"{tag} encoding", body + signature, H(case["encoding"]))
        c.eq(f"{tag} length", len(body + signature), LINK_REVOCATION_LEN)
        c.eq(f"{tag} names the first link", H(case["link_hash"]), links[0].hash())
        verify_link_revocation(body + signature, links[0])
        c.ok(f"{tag} verifies", True)
        n += 1
    for i, case in enumerate(doc["revocation_cases"]):
        what = f"account link revocation case[{i}]: {case['description']}"
        link = verify_account_link(H(case["link"]))
        data = H(case["revocation"])
        if case["outcome"] == "Valid":
            verify_link_revocation(data, link)
            c.ok(what, True)
        else:
            c.rejects(what, lambda: verify_link_revocation(data, link), case["outcome"])
        n += 1
    run = {"link": verify_account_link, "proposal": verify_link_proposal,
           "revocation": decode_link_revocation}
    for i, case in enumerate(doc["negative"]):
        what = f"account link negative[{i}] ({case['kind']}): {case['reason']}"
        data = H(case["input"])
        c.rejects(what, lambda: run[case["kind"]](data), case["error"])
        n += 1
    return n


# ===========================================================================
# provisioning.json (§13, linking a device) — end
# end of the account-link.json section
# ===========================================================================


# edge cases the vectors do not reach ----------------------------------------


def subgroup_edge_cases(c: Checker, t8) -> int:
    """§3.1 item 3 and §3.2: keys with a small-order component, small-order
    keys and twist points are refused; honest keys are not.  The Edwards
    check ([L]P = O) and the Montgomery one (curve equation, then the x-only
    ladder) are computed apart and must agree on every key here."""
    n = 0
    for i in range(4):
        sk = bytes([i + 1] * 32)
        A_enc = identity_public(sk)
        A = validate_identity_key(A_enc)
        c.eq(f"edge: U(IK) is X25519(x, 9) for key {i}", montgomery_u(A_enc), x25519_base(identity_x25519_private(sk)))
        c.ok(f"edge: honest X25519 key {i} in the subgroup", x25519_in_prime_subgroup(montgomery_u(A_enc)))
        for j in range(1, 8):
            T = ed_mul(j, t8)
            bad = ed_encode(ed_add(A, T))
            c.ok(f"edge: A + [{j}]T8 decodes, large order", not ed_small_order(ed_decode(bad)))
            c.rejects(f"edge: identity key A + [{j}]T8", lambda: validate_identity_key(bad), "InvalidKey")
            u_bad = montgomery_u(bad)
            c.rejects(f"edge: X25519 key u(P + [{j}]T8)", lambda: validate_x25519_public(u_bad), "InvalidKey")
            n += 2
    # the small-order u values: 0, 1, p - 1 is not on the curve (the twist),
    # and the order-4 and order-8 ones, from the Edwards torsion points
    small = {montgomery_u(ed_encode(ed_mul(j, t8))) for j in range(1, 8)} | {bytes(32)}
    for u_ in sorted(small):
        c.rejects(f"edge: small-order X25519 key {u_.hex()[:8]}", lambda: validate_x25519_public(u_), "InvalidKey")
        n += 1
    for v in (2, P - 1):  # twist points: u^3 + A u^2 + u is not a square
        c.ok(f"edge: u = {v} is on the twist", not mont_on_curve(v))
        c.rejects(f"edge: twist point u = {v}", lambda: validate_x25519_public(v.to_bytes(32, "little")), "InvalidKey")
        n += 1
    return n


def check_edge_cases(c: Checker) -> int:
    """A few rejections the spec requires that no vector exercises, to test
    the pure-Python checks above (these are not from the vector files)."""
    n = 0
    t8 = ed_decode(H("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"))
    torsion = {ed_encode(ed_mul(i, t8)) for i in range(8)}
    c.eq("edge: eight distinct small-order points", len(torsion), 8)
    for enc in sorted(torsion):  # §3.1 item 2
        c.rejects(f"edge: small-order identity key {enc.hex()[:8]}", lambda: validate_identity_key(enc), "InvalidKey")
        n += 1
    # x = 0 with the sign bit set, and y = p + 1 (§3.1 item 1; no vector has either)
    c.rejects("edge: identity key y = p + 1", lambda: validate_identity_key((P + 1).to_bytes(32, "little")), "InvalidKey")
    c.ok("edge: lenient decoding accepts y = p + 1 (why the §3.1 note's re-encode check exists)",
         ed_decode((P + 1).to_bytes(32, "little"), reduce_y=True) is not None)
    n += 1
    # (x = 0 only for y = ±1, the neutral element and the point of order 2:
    # both are small-order, so item 2 rejects them too; §3.1 says so)
    c.rejects("edge: identity key x=0 with sign bit", lambda: validate_identity_key(bytes([1] + [0] * 30 + [0x80])), "InvalidKey")
    c.ok("edge: both x = 0 points are of small order",
         all(ed_small_order(ed_decode(y.to_bytes(32, "little"))) for y in (1, P - 1)))
    # §3.5 item 2: small-order R, with S chosen so that the equation holds
    sk = bytes(range(32))
    A = identity_public(sk)
    a = int.from_bytes(sha512(sk)[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    for R_enc in sorted(torsion):
        k = int.from_bytes(sha512(R_enc + A + SIG_SPK + b"m"), "little") % L
        # [S]B - [k]A = R needs R in the prime-order subgroup; only R = O works
        S = k * a % L
        sig = R_enc + S.to_bytes(32, "little")
        c.rejects(f"edge: signature with small-order R {R_enc.hex()[:8]}", lambda: verify_strict(A, SIG_SPK, b"m", sig), "InvalidSignature")
        n += 1
    # §3.4 all-zero DH output
    for u_ in (bytes(32), (1).to_bytes(32, "little")):
        c.rejects(f"edge: DH with u = {u_[0]}", lambda: dh(bytes(range(32)), u_), "NonContributoryKey")
        n += 1
    n += subgroup_edge_cases(c, t8)

    # §4 "Order of checks", on inputs with two faults (the vectors have one
    # fault per input, so they do not pin this order)
    neg = load("negative.json")
    good_key = x25519_base(bytes(range(32)))
    bad_key = bytes(31) + b"\x80"  # top bit set (§3.2)
    small_ik = bytes([1] + [0] * 31)  # the identity point: small order (§3.1)

    def msg_bytes(rk, pn, n_, ln, body_len):
        return u8(1) + u8(T_MESSAGE) + rk + bytes(4) + u32(pn) + u32(n_) + u32(ln) + bytes(16) + bytes(body_len)

    order = [
        ("bad ratchet key and ciphertext length 16", msg_bytes(bad_key, 0, 0, 16, 16), "LengthOutOfRange"),
        ("bad ratchet key and input shorter than its length", msg_bytes(bad_key, 0, 0, 17, 16), "Truncated"),
        ("bad ratchet key and a trailing byte", msg_bytes(bad_key, 0, 0, 17, 18), "TrailingBytes"),
        ("length above the maximum and input too short", msg_bytes(good_key, 0, 0, MAX_CIPHERTEXT_LEN + 1, 17),
         "LengthOutOfRange"),
    ]
    pk_prefix = u8(1) + u8(T_PREKEY_MESSAGE) + u8(SUITE) + small_ik + u32(1) + flag(False) + u32(2) + bytes(CT_LEN)
    order += [
        ("PreKeyMessage: small-order IK_A and embedded trailing byte",
         pk_prefix + msg_bytes(good_key, 0, 0, 17, 18), "TrailingBytes"),
        ("PreKeyMessage: small-order IK_A and embedded length 16",
         pk_prefix + msg_bytes(good_key, 0, 0, 16, 16), "LengthOutOfRange"),
        ("PreKeyMessage: small-order IK_A and embedded version 0x02",
         pk_prefix + b"\x02" + msg_bytes(good_key, 0, 0, 17, 17)[1:], "UnsupportedVersion"),
        ("PreKeyMessage: bad EK_A and embedded truncated",
         pk_prefix.replace(small_ik, identity_public(bytes(32))) + msg_bytes(bad_key, 0, 0, 17, 16), "Truncated"),
    ]
    for what, data, kind in order:
        c.rejects(f"edge: order of checks: {what}", lambda: decode_any_message(data), kind)
        n += 1
    bundle = bytearray(H(neg["setup"]["bundle"]))
    b_small_ik = bytes(bundle[:3]) + small_ik + bytes(bundle[35:])
    b_bad_spk = bytes(bundle[:47]) + bad_key + bytes(bundle[79:])
    b_bad_spk_sig = bytearray(b_bad_spk)
    b_bad_spk_sig[79] ^= 1
    b_bad_flag = bytearray(b_small_ik)
    b_bad_flag[143] = 2
    for what, data, kind in (
        ("bundle: small-order identity and a bad flag", bytes(b_bad_flag), "InvalidField"),
        ("bundle: small-order identity and truncated", b_small_ik[:-1], "Truncated"),
        ("bundle: bad signed prekey and a bad signature", bytes(b_bad_spk_sig), "InvalidKey"),
    ):
        c.rejects(f"edge: order of checks: {what}", lambda: verify_bundle(decode_bundle(data)), kind)
        n += 1
    rec = H(neg["record"])
    # offset of the chain count (§4.4, revision 2): 4 + 9*32 + 3 + 12 + (1 + 64) + (1 + 32 + 4 + 32 + 4) + 4 + 4
    cc = 4 + 9 * 32 + 3 + 12 + 65 + 73 + 8
    c.eq("edge: chain count offset in the negative record", rec[cc:cc + 4], u32(1))
    rec_34 = rec[:cc] + u32(34) + rec[cc + 4:]
    c.rejects("edge: order of checks: record chain count 34 and input too short", lambda: decode_record(rec_34),
              "LengthOutOfRange")
    n += 1

    # Rules no vector pins (README): TooFarAhead on the previous chain's
    # catch-up (§7.4 step 3.4) and chain-sequence exhaustion (step 3.1).
    # `neg["record"]` is a responder that has sent once (so it has DHs) and
    # whose one receiving chain has Nr = 1.
    bob = decode_record(rec)
    nr = bob.chains[-1].nr
    mfj = bob.bounds.max_forward_jump
    other = x25519_base(bytes(range(1, 33)))

    def try_deliver(state, pn, n_, tagged=True):
        msg = Message(other, bytes(4), pn, n_, bytes(16), bytes(17))
        if tagged:  # a header the peer could have sent: tagged with the next header key
            msg.tag = header_tag(state.nhk, state.ad, msg.tagged())
        m = msg.encode()
        before = encode_record(state)
        try:
            deliver(state, m, ResponderKeys(b"", {}, {}, {}), b"", state.bounds)
            kind = "ok"
        except ProtocolError as e:
            kind = e.kind
        c.eq(f"edge: state unchanged after PN={pn} N={n_}", encode_record(state), before)
        return kind

    c.eq("edge: catch-up PN - Nr = max_forward_jump + 1 is TooFarAhead",
         try_deliver(bob.clone(), nr + mfj + 1, 0), "TooFarAhead")
    c.eq("edge: catch-up PN - Nr = max_forward_jump passes the check (then the AEAD fails)",
         try_deliver(bob.clone(), nr + mfj, 0), "DecryptionFailed")
    c.eq("edge: new chain N = max_forward_jump + 1 is TooFarAhead", try_deliver(bob.clone(), 0, mfj + 1), "TooFarAhead")
    ns = 4 + 9 * 32 + 3 + 12 + 65 + 73 + 4  # next chain sequence number
    exhausted = decode_record(rec[:ns] + u32(U32_MAX) + rec[ns + 4:])
    c.eq("edge: next chain seq 2^32 - 1 is ChainExhausted", try_deliver(exhausted, 0, 0), "ChainExhausted")
    almost = decode_record(rec[:ns] + u32(U32_MAX - 1) + rec[ns + 4:])
    c.eq("edge: next chain seq 2^32 - 2 passes the check", try_deliver(almost, 0, 0), "DecryptionFailed")
    c.eq("edge: index 2^32 - 1 is ChainExhausted (after the header tag)",
         try_deliver(bob.clone(), 0, U32_MAX), "ChainExhausted")
    for pn_, n_ in ((nr + mfj + 1, 0), (0, mfj + 1), (0, U32_MAX)):
        c.eq(f"edge: an untagged header PN={pn_} N={n_} fails at its tag first",
             try_deliver(bob.clone(), pn_, n_, tagged=False), "DecryptionFailed")
    c.eq("edge: next chain seq 2^32 - 1, untagged header: DecryptionFailed first",
         try_deliver(exhausted, 0, 0, tagged=False), "DecryptionFailed")
    n += 10
    # §9 senders
    c.rejects("edge: plaintext over MAX_PLAINTEXT_LEN", lambda: ratchet_encrypt(bob.clone(), bytes(MAX_PLAINTEXT_LEN + 1), lambda: None), "Misuse")
    c.rejects("edge: context over 1024 bytes", lambda: session_ad(bytes(32), bytes(32), bytes(1025)), "Misuse")
    full = bob.clone()
    full.send = [full.send[0], U32_MAX, full.send[2], full.send[3]]
    c.rejects("edge: send at Ns = 2^32 - 1", lambda: ratchet_encrypt(full, b"", lambda: None), "ChainExhausted")
    n += 3
    # §7.6 padding: Padmé and the policies, at and around their edges, and
    # the unpadding rules on bodies no vector holds
    for n_in, want in ((0, 0), (1, 1), (2, 2), (9, 10), (100, 104), (161, 176), (1025, 1088),
                       (MAX_PLAINTEXT_LEN + 1, MAX_PADDED_LEN)):
        c.eq(f"edge: Padmé({n_in})", padme(n_in), want)
    for pol, n_in, want in ((Padding(), 0, 160), (Padding(), 159, 160), (Padding(), 160, 320),
                            (Padding(), 1024, 1152), (Padding(), MAX_PLAINTEXT_LEN, MAX_PADDED_LEN),
                            (Padding(1, False), 5, 6), (Padding(32, False), 32, 64),
                            (Padding(4096, True), MAX_PLAINTEXT_LEN, MAX_PADDED_LEN)):
        c.eq(f"edge: padded length {pol} of {n_in}", pol.padded_len(n_in), want)
    for what, body in (("empty", b""), ("only zeros", bytes(17)), ("marker 0x01", b"a\x01"),
                       ("plaintext over MAX_PLAINTEXT_LEN", bytes([1]) * (MAX_PLAINTEXT_LEN + 1) + b"\x80")):
        c.rejects(f"edge: unpad {what}", lambda: unpad(body), "InvalidPadding")
    c.eq("edge: unpad keeps a plaintext's own trailing 0x80 and zeros", unpad(b"a\x80\x00\x80\x00\x00"), b"a\x80\x00")
    n += 19
    return n


# ===========================================================================
# group-state.json (§16.5-§16.7, end-to-end group membership) — begin
# ===========================================================================

T_GROUP_STATE, T_GROUP_CHANGE = 0x72, 0x73
GROUP_STATE_HASH = b"KINSEAL-v1 group state hash\0"
SIG_GROUP_CHANGE = b"KINSEAL-v1 group change\0"
GROUP_CHANGE_HASH = b"KINSEAL-v1 group change hash\0"
GROUP_ID_BINDING = b"KINSEAL-v1 group id\0"
MAX_GROUP_MEMBERS = 1000
MAX_GROUP_CHANGE_OPS = 1000
ROLE_MEMBER, ROLE_ADMIN = 0x01, 0x02


@dataclass
class GroupStateV:
    group_id: bytes
    epoch: int
    previous_hash: bytes
    members: dict  # user key -> (app_id, user_id, role)

    def encoding(self) -> bytes:
        """§16.5, members ascending by key bytes."""
        out = u8(VERSION) + u8(T_GROUP_STATE) + u8(SUITE) + self.group_id + u64(self.epoch)
        out += self.previous_hash + u16(len(self.members))
        for key in sorted(self.members):
            app_id, user_id, role = self.members[key]
            out += key + encode_user_address_embedded(app_id, user_id) + u8(role)
        return out

    def hash(self) -> bytes:
        return sha256(GROUP_STATE_HASH + self.encoding())


@dataclass
class GroupChangeV:
    group_id: bytes
    base_epoch: int
    base_hash: bytes
    author: bytes
    device: int
    ops: list  # ("add", key, app_id, user_id, role) | ("remove", key) | ("set_role", key, role)
    body: bytes
    signature: bytes

    def hash(self) -> bytes:
        return sha256(GROUP_CHANGE_HASH + self.body + self.signature)


def _group_role(r: Reader) -> int:
    role = r.u8()
    if role not in (ROLE_MEMBER, ROLE_ADMIN):
        raise ProtocolError("InvalidField", f"role {role}")
    return role


def decode_group_state(data: bytes) -> GroupStateV:
    """§16.5: structure, keys, then consistency."""
    r = Reader(data)
    read_prefix(r, T_GROUP_STATE, with_suite=True)
    group_id, epoch, previous_hash = r.take(32), r.u64(), r.take(32)
    count = r.u16()
    if not 1 <= count <= MAX_GROUP_MEMBERS:
        raise ProtocolError("LengthOutOfRange", f"member_count {count}")
    entries = []
    for _ in range(count):
        key = r.take(32)
        app_id, user_id = read_user_address_embedded(r)
        entries.append((key, app_id, user_id, _group_role(r)))
    r.finish()
    for e in entries:
        validate_identity_key(e[0])
    if (previous_hash == bytes(32)) != (epoch == 0):
        raise ProtocolError("InvalidField", "previous_hash zero iff epoch 0")
    keys = [e[0] for e in entries]
    if any(a >= b for a, b in zip(keys, keys[1:])):
        raise ProtocolError("InvalidField", "user keys not strictly ascending")
    if not any(e[3] == ROLE_ADMIN for e in entries):
        raise ProtocolError("InvalidField", "no admin")
    return GroupStateV(group_id, epoch, previous_hash, {e[0]: e[1:] for e in entries})


def decode_group_change(data: bytes) -> GroupChangeV:
    """§16.6: structure, keys, base consistency."""
    r = Reader(data)
    read_prefix(r, T_GROUP_CHANGE, with_suite=True)
    group_id, base_epoch, base_hash = r.take(32), r.u64(), r.take(32)
    author, device = r.take(32), r.u32()
    count = r.u16()
    if not 1 <= count <= MAX_GROUP_CHANGE_OPS:
        raise ProtocolError("LengthOutOfRange", f"op_count {count}")
    ops = []
    for _ in range(count):
        kind = r.u8()
        if kind == 0x01:
            key = r.take(32)
            app_id, user_id = read_user_address_embedded(r)
            ops.append(("add", key, app_id, user_id, _group_role(r)))
        elif kind == 0x02:
            ops.append(("remove", r.take(32)))
        elif kind == 0x03:
            ops.append(("set_role", r.take(32), _group_role(r)))
        else:
            raise ProtocolError("InvalidField", f"kind {kind}")
    body = data[: r.pos]
    signature = r.take(64)
    r.finish()
    validate_identity_key(author)
    for op in ops:
        validate_identity_key(op[1])
    if base_hash == bytes(32) and base_epoch != 0:
        raise ProtocolError("InvalidField", "zero base_hash with base_epoch != 0")
    return GroupChangeV(group_id, base_epoch, base_hash, author, device, ops, body, signature)


def verify_group_change(data: bytes) -> GroupChangeV:
    ch = decode_group_change(data)
    verify_strict(ch.author, SIG_GROUP_CHANGE, ch.body, ch.signature)
    return ch


def group_apply_ops(members: dict, ops: list, genesis_author: Optional[bytes] = None) -> dict:
    """§16.7 rules 5-6 (for a genesis, §16.6: its author an admin before rule 6)."""
    m = dict(members)
    for i, op in enumerate(ops):
        key = op[1]
        if op[0] == "add":
            if key in m:
                raise ProtocolError("AlreadyMember", f"op {i}")
            m[key] = (op[2], op[3], op[4])
        elif key not in m:
            raise ProtocolError("NotAMember", f"op {i}")
        elif op[0] == "remove":
            del m[key]
        else:
            if m[key][2] == op[2]:
                raise ProtocolError("RoleUnchanged", f"op {i}")
            m[key] = (m[key][0], m[key][1], op[2])
    if genesis_author is not None and m.get(genesis_author, (0, 0, 0))[2] != ROLE_ADMIN:
        raise ProtocolError("InvalidGenesis", "author not admin")
    if len(m) > MAX_GROUP_MEMBERS:
        raise ProtocolError("TooManyMembers", str(len(m)))
    if not any(v[2] == ROLE_ADMIN for v in m.values()):
        raise ProtocolError("NoAdmin", "")
    return m


def group_id_bound_to(group_id: bytes, creator: bytes) -> bool:
    """§16.6: id = nonce (16) ‖ SHA-256(label ‖ creator key ‖ nonce)[:16]."""
    nonce, binding = group_id[:16], group_id[16:]
    return sha256(GROUP_ID_BINDING + creator + nonce)[:16] == binding


def group_genesis(ch: GroupChangeV) -> GroupStateV:
    """§16.6: a genesis's Adds applied to no members, epoch 0, under an id
    bound to its author."""
    if ch.base_hash != bytes(32) or any(op[0] != "add" for op in ch.ops):
        raise ProtocolError("InvalidGenesis", "")
    if not group_id_bound_to(ch.group_id, ch.author):
        raise ProtocolError("InvalidGenesis", "group id not bound to author")
    m = group_apply_ops({}, ch.ops, genesis_author=ch.author)
    return GroupStateV(ch.group_id, 0, bytes(32), m)


def group_apply(s: GroupStateV, ch: GroupChangeV) -> GroupStateV:
    """§16.7 rules 1-6."""
    if ch.group_id != s.group_id:
        raise ProtocolError("WrongGroup", "")
    if ch.base_epoch < s.epoch:
        raise ProtocolError("StaleChange", "")
    if ch.base_epoch > s.epoch or ch.base_hash != s.hash():
        raise ProtocolError("WrongBase", "")
    # Rule 4: an admin's change, or a member leaving (one Remove of the
    # author); rule 5 finds a non-member leaving, rule 6 the last admin.
    leaving = len(ch.ops) == 1 and ch.ops[0][0] == "remove" and ch.ops[0][1] == ch.author
    if s.members.get(ch.author, (0, 0, 0))[2] != ROLE_ADMIN and not leaving:
        raise ProtocolError("NotAnAdmin", "")
    return GroupStateV(s.group_id, s.epoch + 1, s.hash(), group_apply_ops(s.members, ch.ops))


class GroupHistoryV:
    """§16.7: current state, previous state, hash of the change between."""

    def __init__(self, state: GroupStateV):
        self.current, self.previous, self.last = state, None, None

    def receive(self, ch: GroupChangeV) -> str:
        p = self.previous
        if p is not None and ch.base_epoch == p.epoch and ch.base_hash == p.hash():
            nxt = group_apply(p, ch)
            if ch.hash() == self.last:
                return "Unchanged"
            if ch.hash() > self.last:
                raise ProtocolError("LostToConcurrentChange", "")
            self.current, self.last = nxt, ch.hash()
            return "Replaced"
        nxt = group_apply(self.current, ch)
        self.previous, self.current, self.last = self.current, nxt, ch.hash()
        return "Applied"


def check_group_states(c: Checker) -> int:
    doc = load("group-state.json")
    c.eq("group: state type byte", doc["state_type_byte"], T_GROUP_STATE)
    c.eq("group: change type byte", doc["change_type_byte"], T_GROUP_CHANGE)
    c.eq("group: state hash label", H(doc["state_hash_label"]), GROUP_STATE_HASH)
    c.eq("group: signature label", H(doc["signature_label"]), SIG_GROUP_CHANGE)
    c.eq("group: change hash label", H(doc["change_hash_label"]), GROUP_CHANGE_HASH)
    c.eq("group: id binding label", H(doc["group_id_binding_label"]), GROUP_ID_BINDING)
    secrets = {}
    for user in doc["users"]:
        sk = H(user["user_secret"])
        c.eq(f"group user {user['name']} public key", identity_public(sk), H(user["user_public"]))
        secrets[identity_public(sk)] = sk
    creator = H(doc["users"][0]["user_public"])
    c.ok("group: the id is bound to its creator", group_id_bound_to(H(doc["group_id"]), creator))
    c.ok("group: the id is not bound to another user",
         not group_id_bound_to(H(doc["group_id"]), H(doc["users"][1]["user_public"])))
    n = 0
    state = None
    for i, case in enumerate(doc["steps"]):
        tag = f"group step[{i}] ({case['description']})"
        enc = H(case["change"])
        ch = verify_group_change(enc)
        c.ok(f"{tag} change decodes and verifies", True)
        # Ed25519 is deterministic (RFC 8032): the signature recomputes
        c.eq(f"{tag} signature", sign(secrets[ch.author], SIG_GROUP_CHANGE, ch.body), ch.signature)
        c.eq(f"{tag} change hash", ch.hash(), H(case["change_hash"]))
        state = group_genesis(ch) if i == 0 else group_apply(state, ch)
        c.eq(f"{tag} state", state.encoding(), H(case["state"]))
        c.eq(f"{tag} state hash", state.hash(), H(case["state_hash"]))
        c.eq(f"{tag} epoch", state.epoch, case["epoch"])
        stored = decode_group_state(H(case["state"]))
        c.eq(f"{tag} stored state decodes to the same", stored.encoding(), H(case["state"]))
        n += 1
    cc = doc["concurrent"]
    base = decode_group_state(H(cc["base_state"]))
    c.eq("group concurrent: base is the last step's state", base.encoding(), state.encoding())
    changes = [verify_group_change(H(x)) for x in cc["changes"]]
    hashes = [x.hash() for x in changes]
    c.eq("group concurrent: change hashes", hashes, [H(x) for x in cc["change_hashes"]])
    winner = min(range(2), key=lambda i: hashes[i])
    c.eq("group concurrent: the lower hash wins", winner, cc["winner"])
    for order in ((0, 1), (1, 0)):
        h = GroupHistoryV(base)
        first = h.receive(changes[order[0]])
        c.eq(f"group concurrent {order}: first applies", first, "Applied")
        if order[0] == winner:
            c.rejects(f"group concurrent {order}: loser after winner",
                      lambda: h.receive(changes[order[1]]), cc["loser_after_winner"])
        else:
            c.eq(f"group concurrent {order}: winner replaces", h.receive(changes[order[1]]), "Replaced")
        c.eq(f"group concurrent {order}: state", h.current.encoding(), H(cc["state"]))
        c.eq(f"group concurrent {order}: state hash", h.current.hash(), H(cc["state_hash"]))
        c.eq(f"group concurrent {order}: winner again", h.receive(changes[winner]), "Unchanged")
        n += 1
    lv = doc["leave"]
    base = decode_group_state(H(lv["base_state"]))
    c.eq("group leave: base is step 1's state", base.encoding(), H(doc["steps"][1]["state"]))
    ch = verify_group_change(H(lv["change"]))
    c.ok("group leave: the author is no admin", base.members[ch.author][2] != ROLE_ADMIN)
    c.eq("group leave: signature", sign(secrets[ch.author], SIG_GROUP_CHANGE, ch.body), ch.signature)
    c.eq("group leave: change hash", ch.hash(), H(lv["change_hash"]))
    left = GroupHistoryV(base)
    c.eq("group leave: applies", left.receive(ch), "Applied")
    c.ok("group leave: the author is gone", ch.author not in left.current.members)
    c.eq("group leave: state", left.current.encoding(), H(lv["state"]))
    c.eq("group leave: state hash", left.current.hash(), H(lv["state_hash"]))
    c.eq("group leave: epoch", left.current.epoch, lv["epoch"])
    n += 1
    for i, case in enumerate(doc["negative"]):
        what = f"group negative[{i}]: {case['description']}"
        s = decode_group_state(H(case["state"]))
        data = H(case["change"])
        c.rejects(what, lambda: GroupHistoryV(s).receive(verify_group_change(data)), case["error"])
        n += 1
    for i, case in enumerate(doc["genesis_negative"]):
        what = f"group genesis negative[{i}]: {case['description']}"
        data = H(case["change"])
        c.rejects(what, lambda: group_genesis(verify_group_change(data)), case["error"])
        n += 1
    return n


# ===========================================================================
# group-state.json — end
# ===========================================================================


# ===========================================================================
# account-content.json — §17: what an account's pairwise plaintexts carry
# ===========================================================================

T_CONTENT = 0x62
MAX_APP_PLAINTEXT_LEN = 256 * 1024 - 3
# §16.5 / §16.6: the shortest state and change encodings
MIN_GROUP_STATE_LEN_17 = 3 + 32 + 8 + 32 + 2 + 32 + (1 + 1 + 2 + 1) + 1
MAX_GROUP_STATE_LEN_17 = 3 + 32 + 8 + 32 + 2 + 1000 * (32 + (1 + MAX_APP_ID_LEN + 2 + MAX_USER_ID_LEN) + 1)
MIN_GROUP_CHANGE_LEN_17 = 3 + 32 + 8 + 32 + 32 + 4 + 2 + 64 + 1 + 32


def decode_content(data: bytes):
    """§17.1: version, type 0x62, kind, body by kind."""
    r = Reader(data)
    read_prefix(r, T_CONTENT, False)
    kind = r.u8()
    if kind == 0x01:
        body = r.rest()
        if len(body) > MAX_APP_PLAINTEXT_LEN:
            raise ProtocolError("LengthOutOfRange", f"app plaintext {len(body)}")
        return kind, body
    if kind in (0x02, 0x03, 0x05):
        return kind, r.rest()
    if kind == 0x04:
        n = r.u32()
        if not MIN_GROUP_STATE_LEN_17 <= n <= MAX_GROUP_STATE_LEN_17:
            raise ProtocolError("LengthOutOfRange", f"state_len {n}")
        state = r.take(n)
        change = r.rest()
        if len(change) < MIN_GROUP_CHANGE_LEN_17:
            raise ProtocolError("Truncated", f"change of {len(change)} bytes")
        return kind, (state, change)
    raise ProtocolError("InvalidField", f"kind 0x{kind:02x}")


def content_state(data: bytes) -> GroupStateV:
    """The state a genesis, welcome or state sync makes (§17.2, §17.4), with
    every body checked by its own decoder."""
    kind, body = decode_content(data)
    if kind == 0x03:
        ch = verify_group_change(body)
        if ch.base_epoch != 0 or ch.base_hash != bytes(32):
            raise ProtocolError("UnknownGroup", "a change of a group not held")
        return group_genesis(ch)
    if kind == 0x04:
        state, change = body
        return group_apply(decode_group_state(state), verify_group_change(change))
    if kind == 0x05:
        return decode_group_state(body)
    raise ProtocolError("InvalidField", "not a group state content")


def content_join(data: bytes, recipient: bytes) -> GroupStateV:
    s = content_state(data)
    if recipient not in s.members:
        raise ProtocolError("NotGroupMember", "")
    return s


def check_account_content(c: Checker) -> int:
    doc = load("account-content.json")
    c.eq("content: type byte", doc["content_type_byte"], T_CONTENT)
    c.eq("content: longest app plaintext", doc["max_app_plaintext_len"], MAX_APP_PLAINTEXT_LEN)
    n = 0
    for i, case in enumerate(doc["cases"]):
        tag = f"content[{i}] ({case['description']})"
        data, body = H(case["content"]), H(case["body"])
        c.eq(f"{tag} encoding", data, u8(VERSION) + u8(T_CONTENT) + u8(case["kind"]) + body)
        kind, decoded = decode_content(data)
        c.eq(f"{tag} kind", kind, case["kind"])
        if kind == 0x04:
            state, change = decoded
            c.eq(f"{tag} welcome framing", u32(len(state)) + state + change, body)
            ch = verify_group_change(change)
            c.eq(f"{tag} welcome change is built on its state",
                 (ch.base_epoch, ch.base_hash),
                 (decode_group_state(state).epoch, decode_group_state(state).hash()))
        else:
            c.eq(f"{tag} body", decoded, body)
        if kind == 0x02:
            d = decode_distribution(decoded)
            c.eq(f"{tag} distribution re-encodes", u8(VERSION) + u8(T_SENDER_KEY_DISTRIBUTION) + u8(SUITE)
                 + d["group_id"] + u64(d["epoch"]) + u32(d["key_id"]) + u32(d["iteration"])
                 + d["chain_key"] + d["signing_key"], decoded)
        if kind == 0x03:
            c.ok(f"{tag} change verifies", verify_group_change(decoded) is not None)
        if kind == 0x05:
            c.eq(f"{tag} state re-encodes", decode_group_state(decoded).encoding(), decoded)
        n += 1
    for i, case in enumerate(doc["joins"]):
        what = f"content joins[{i}] (cases[{case['content']}])"
        data = H(doc["cases"][case["content"]]["content"])
        recipient = H(case["recipient"])
        if "error" in case:
            c.rejects(what, lambda: content_join(data, recipient), case["error"])
        else:
            s = content_join(data, recipient)
            c.eq(f"{what} epoch", s.epoch, case["epoch"])
        n += 1
    for i, case in enumerate(doc["negative"]):
        what = f"content negative[{i}]: {case['description']}"
        data = H(case["content"])
        if "recipient" in case:
            recipient = H(case["recipient"])
            c.rejects(what, lambda: content_join(data, recipient), case["error"])
        else:
            c.rejects(what, lambda: decode_content(data), case["error"])
        n += 1
    return n


def main() -> int:
    c = Checker()
    for name, fn, unit in (
        ("identity.json", check_identity, "cases"),
        ("handshake.json", check_handshakes, "cases"),
        ("conversation.json", check_conversations, "conversations"),
        ("negative.json", check_negative, "cases"),
        ("safety-number.json", check_safety_numbers, "cases"),
        ("addressing.json", check_addressing, "cases"),
        ("device-list.json", check_device_lists, "cases"),
        ("provisioning.json", check_provisioning, "cases"),
        ("receipt.json", check_receipts, "cases"),
        ("account-link.json", check_account_links, "cases"),
        ("group-messages.json", check_group_messages, "cases"),
        ("group-state.json", check_group_states, "cases"),
        ("account-content.json", check_account_content, "cases"),
        ("edge cases (not from a file)", check_edge_cases, "cases"),
    ):
        before_p, before_f = c.passed, c.failed
        try:
            count = fn(c)
        except Exception:  # an unexpected rejection is a failure
            import traceback

            traceback.print_exc()
            c.failed += 1
            count = "?"
        status = "ok" if c.failed == before_f else f"{c.failed - before_f} FAILED"
        print(f"{name}: {count} {unit} {status} ({c.passed - before_p} checks)")
    for note in c.notes:
        print(f"note: {note}")
    if not c.notes:
        print("note: every rejection reported the error kind the vectors list")
    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
