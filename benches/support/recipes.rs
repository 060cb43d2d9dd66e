//! What each kinseal operation is made of: the primitives it calls and how
//! many times, derived from the code in `src/`. Shared, as source, by
//! `benches/kinseal.rs` (which measures every primitive alone, then each
//! operation's recipe as one routine right after the operation) and by the
//! report (`benches/peer/src/bin/report.rs`, which renders it). One table,
//! so the floor measured and the floor reported cannot drift apart.
//!
//! Every id here is a criterion benchmark id: `floor/<primitive>` for a
//! primitive alone, the operation's id (`group/name`) for kinseal, and
//! `floor_of/<id with '/' as '_'>` for the recipe run as one routine.

#![allow(dead_code)]

/// One primitive, called through the crate and the features kinseal uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    /// X25519 key pair: 32 random bytes, base-point multiplication.
    X25519Keygen,
    /// X25519 Diffie-Hellman.
    X25519Dh,
    /// Ed25519 signing key from 32 bytes (SHA-512, base-point multiplication).
    Ed25519Keygen,
    /// The SHA-512-derived scalar an identity uses as its X25519 secret.
    Ed25519ScalarBytes,
    /// Signing a signed-prekey body (70 bytes).
    Ed25519SignSpk,
    /// Signing a KEM-prekey body (1220 bytes).
    Ed25519SignKem,
    /// Strict verification of a signed-prekey signature.
    Ed25519VerifySpk,
    /// Strict verification of a KEM-prekey signature.
    Ed25519VerifyKem,
    /// Decompressing an Ed25519 public key.
    Ed25519Decompress,
    /// The small-order check.
    Ed25519IsWeak,
    /// The birational map to X25519 (one field inversion).
    Ed25519ToMontgomery,
    /// The prime-order-subgroup check of an identity key (PROTOCOL.md §3.1
    /// item 3): `[L]A = O`, one scalar multiplication.
    Ed25519TorsionFree,
    /// The prime-order-subgroup check of an X25519 key (§3.2 item 2): the
    /// map to Edwards form (an inversion and a decompression) and `[L]P = O`.
    X25519Subgroup,
    /// ML-KEM-768 key generation from a 64-byte seed.
    MlKemKeygen,
    /// The FIPS 203 encapsulation-key check.
    MlKemValidate,
    /// ML-KEM-768 encapsulation.
    MlKemEncaps,
    /// ML-KEM-768 decapsulation (key decoded from its 2400 bytes).
    MlKemDecaps,
    /// SHA-256 of the handshake transcript (2469 bytes with a one-time prekey).
    Sha256Transcript,
    /// SHA-256 of the session-AD input (92 bytes, no context).
    Sha256SessionAd,
    /// SHA-256 of the handshake-id input (1190 bytes).
    Sha256HandshakeId,
    /// The handshake HKDF: extract over 192 bytes, expand to 64.
    HkdfHandshake,
    /// The root KDF: extract (salt = root key) and expand to 64.
    HkdfRoot,
    /// HKDF-Expand of a message-key seed to 44 bytes.
    HkdfExpand44,
    /// One chain step: HMAC key setup shared by two HMACs.
    HmacChainStep,
    /// A `Message`'s header tag: one HMAC-SHA256 over its label (22 bytes),
    /// the session AD (32) and the first 50 header bytes (PROTOCOL.md §7.1).
    HmacHeaderTag,
    /// Signing a group message's signature input of this many bytes
    /// (PROTOCOL.md §16.3: label ‖ embedded sender ‖ the message up to its
    /// signature).
    Ed25519SignGroup(usize),
    /// Strict verification of a group message's signature over this many bytes.
    Ed25519VerifyGroup(usize),
    /// ChaCha20-Poly1305 seal through libcrux (what kinseal uses up to 768 bytes).
    SealLibcrux(usize),
    /// ChaCha20-Poly1305 open through libcrux.
    OpenLibcrux(usize),
    /// ChaCha20-Poly1305 seal through RustCrypto (what kinseal uses above 768 bytes).
    SealRustCrypto(usize),
    /// ChaCha20-Poly1305 open through RustCrypto.
    OpenRustCrypto(usize),
}

/// The AEAD sizes measured: what the default padding (PROTOCOL.md §7.6)
/// makes of the 100 B, 1 KiB and 64 KiB plaintexts the operations send
/// (`benches/kinseal.rs` checks this against `Padding::DEFAULT`).
pub(crate) const AEAD_SIZES: [usize; 3] = [160, 1152, 67_584];
/// The padded length of a 100-byte plaintext.
const P100: usize = AEAD_SIZES[0];

/// The embedded sender address of the group benchmarks: app id `chirp`,
/// user id `alice@example.org`, a device id (1 + 5 + 2 + 17 + 4 bytes).
pub(crate) const GROUP_SENDER_LEN: usize = 1 + 5 + 2 + 17 + 4;
/// A group message's signature input for a padded plaintext of `padded`
/// bytes: label (25) ‖ embedded sender ‖ header (55) ‖ ciphertext ‖ tag.
pub(crate) const fn group_signed_len(padded: usize) -> usize {
    25 + GROUP_SENDER_LEN + 55 + padded + 16
}
/// The group signature inputs measured: 100 B and 64 KiB plaintexts.
pub(crate) const GROUP_SIGNED: [usize; 2] = [
    group_signed_len(AEAD_SIZES[0]),
    group_signed_len(AEAD_SIZES[2]),
];

impl Prim {
    /// Every primitive measured alone, in `floor/`.
    pub(crate) fn all() -> Vec<Prim> {
        use Prim::*;
        let mut v = vec![
            X25519Keygen,
            X25519Dh,
            Ed25519Keygen,
            Ed25519ScalarBytes,
            Ed25519SignSpk,
            Ed25519SignKem,
            Ed25519VerifySpk,
            Ed25519VerifyKem,
            Ed25519Decompress,
            Ed25519IsWeak,
            Ed25519ToMontgomery,
            Ed25519TorsionFree,
            X25519Subgroup,
            MlKemKeygen,
            MlKemValidate,
            MlKemEncaps,
            MlKemDecaps,
            Sha256Transcript,
            Sha256SessionAd,
            Sha256HandshakeId,
            HkdfHandshake,
            HkdfRoot,
            HkdfExpand44,
            HmacChainStep,
            HmacHeaderTag,
        ];
        for n in GROUP_SIGNED {
            v.extend([Ed25519SignGroup(n), Ed25519VerifyGroup(n)]);
        }
        for n in AEAD_SIZES {
            v.extend([
                SealLibcrux(n),
                OpenLibcrux(n),
                SealRustCrypto(n),
                OpenRustCrypto(n),
            ]);
        }
        v
    }

    /// The benchmark id under `floor/`.
    pub(crate) fn id(self) -> String {
        use Prim::*;
        match self {
            X25519Keygen => "x25519_keygen".into(),
            X25519Dh => "x25519_dh".into(),
            Ed25519Keygen => "ed25519_keygen".into(),
            Ed25519ScalarBytes => "ed25519_scalar_bytes".into(),
            Ed25519SignSpk => "ed25519_sign_spk".into(),
            Ed25519SignKem => "ed25519_sign_kem".into(),
            Ed25519VerifySpk => "ed25519_verify_strict_spk".into(),
            Ed25519VerifyKem => "ed25519_verify_strict_kem".into(),
            Ed25519Decompress => "ed25519_decompress".into(),
            Ed25519IsWeak => "ed25519_is_weak".into(),
            Ed25519ToMontgomery => "ed25519_to_montgomery".into(),
            Ed25519TorsionFree => "ed25519_is_torsion_free".into(),
            X25519Subgroup => "x25519_subgroup_check".into(),
            MlKemKeygen => "mlkem768_keygen".into(),
            MlKemValidate => "mlkem768_validate_public_key".into(),
            MlKemEncaps => "mlkem768_encapsulate".into(),
            MlKemDecaps => "mlkem768_decapsulate".into(),
            Sha256Transcript => "sha256_transcript".into(),
            Sha256SessionAd => "sha256_session_ad".into(),
            Sha256HandshakeId => "sha256_handshake_id".into(),
            HkdfHandshake => "hkdf_handshake".into(),
            HkdfRoot => "hkdf_root".into(),
            HkdfExpand44 => "hkdf_expand_44".into(),
            HmacChainStep => "hmac_chain_step".into(),
            HmacHeaderTag => "hmac_header_tag".into(),
            Ed25519SignGroup(n) => format!("ed25519_sign_group_{n}"),
            Ed25519VerifyGroup(n) => format!("ed25519_verify_strict_group_{n}"),
            SealLibcrux(n) => format!("aead_seal_libcrux_{n}"),
            OpenLibcrux(n) => format!("aead_open_libcrux_{n}"),
            SealRustCrypto(n) => format!("aead_seal_rustcrypto_{n}"),
            OpenRustCrypto(n) => format!("aead_open_rustcrypto_{n}"),
        }
    }
}

/// A kinseal operation: its benchmark id, a label, its recipe, the
/// vodozemac benchmark doing the same job (if any), and what the code does.
pub(crate) struct Op {
    pub(crate) id: &'static str,
    pub(crate) label: &'static str,
    pub(crate) floor: &'static [(Prim, u32)],
    pub(crate) peer: Option<&'static str>,
    pub(crate) note: &'static str,
}

impl Op {
    /// The id of its recipe measured as one routine.
    pub(crate) fn floor_id(&self) -> String {
        format!("floor_of/{}", self.id.replace('/', "_"))
    }
}

use Prim::*;

/// The first message of a handshake, and a same-chain message: one chain
/// step, the message key, the AEAD.
const INITIATE: &[(Prim, u32)] = &[
    (Ed25519VerifySpk, 1),
    (Ed25519VerifyKem, 1),
    (X25519Keygen, 1),
    (X25519Dh, 4),
    (MlKemEncaps, 1),
    (Sha256Transcript, 1),
    (Sha256SessionAd, 1),
    (Sha256HandshakeId, 1),
    (HkdfHandshake, 1),
    (HmacChainStep, 1),
    (HkdfExpand44, 1),
    (HmacHeaderTag, 1),
    (SealLibcrux(P100), 1),
];

const RESPOND: &[(Prim, u32)] = &[
    (Ed25519Decompress, 1),
    (Ed25519IsWeak, 1),
    (Ed25519TorsionFree, 1),
    (Ed25519ToMontgomery, 1),
    (X25519Subgroup, 1),
    (X25519Dh, 4),
    (MlKemDecaps, 1),
    (Sha256Transcript, 1),
    (Sha256SessionAd, 1),
    (Sha256HandshakeId, 1),
    (HkdfHandshake, 1),
    (HmacChainStep, 1),
    (HkdfExpand44, 1),
    (HmacHeaderTag, 1),
    (OpenLibcrux(P100), 1),
];

const NEW_KEY_ENCRYPT: &[(Prim, u32)] = &[
    (X25519Keygen, 1),
    (X25519Dh, 1),
    (HkdfRoot, 1),
    (HmacChainStep, 1),
    (HkdfExpand44, 1),
    (HmacHeaderTag, 1),
    (SealLibcrux(P100), 1),
];

const NEW_KEY_DECRYPT: &[(Prim, u32)] = &[
    (X25519Subgroup, 1),
    (X25519Dh, 1),
    (HkdfRoot, 1),
    (HmacChainStep, 1),
    (HkdfExpand44, 1),
    (HmacHeaderTag, 1),
    (OpenLibcrux(P100), 1),
];

/// Identity validation when decoding: decompress, small-order check,
/// subgroup check, map; then the base key's subgroup check.
const IDENTITY: [(Prim, u32); 5] = [
    (Ed25519Decompress, 1),
    (Ed25519IsWeak, 1),
    (Ed25519TorsionFree, 1),
    (Ed25519ToMontgomery, 1),
    (X25519Subgroup, 1),
];

pub(crate) const OPS: &[Op] = &[
    Op {
        id: "keys/identity_generate",
        label: "identity key generation",
        floor: &[
            (Ed25519Keygen, 1),
            (Ed25519ScalarBytes, 1),
            (Ed25519ToMontgomery, 1),
        ],
        peer: None,
        note: "Ed25519 key (SHA-512 + base-point mult), its X25519 scalar (SHA-512), the public key mapped to X25519",
    },
    Op {
        id: "keys/signed_prekey_generate",
        label: "signed prekey generation",
        floor: &[(X25519Keygen, 1), (Ed25519SignSpk, 1)],
        peer: None,
        note: "X25519 key pair + one signature",
    },
    Op {
        id: "keys/one_time_prekey_generate",
        label: "one-time prekey generation",
        floor: &[(X25519Keygen, 1)],
        peer: None,
        note: "X25519 key pair",
    },
    Op {
        id: "keys/kem_prekey_generate",
        label: "KEM prekey generation",
        floor: &[(MlKemKeygen, 1), (Ed25519SignKem, 1)],
        peer: None,
        note: "ML-KEM-768 key pair + one signature over the 1184-byte key",
    },
    Op {
        id: "keys/one_time_prekey_batch_100",
        label: "100 one-time EC prekeys",
        floor: &[(X25519Keygen, 100)],
        peer: None,
        note: "100 X25519 key pairs",
    },
    Op {
        id: "keys/kem_prekey_batch_100",
        label: "100 one-time KEM prekeys",
        floor: &[(MlKemKeygen, 100), (Ed25519SignKem, 100)],
        peer: None,
        note: "100 × (ML-KEM-768 key pair + signature)",
    },
    Op {
        id: "bundle/verify",
        label: "bundle verification",
        floor: &[(Ed25519VerifySpk, 1), (Ed25519VerifyKem, 1)],
        peer: None,
        note: "2 strict Ed25519 verifications (70-byte and 1220-byte bodies)",
    },
    Op {
        id: "handshake/initiate",
        label: "initiator setup + first 100 B message",
        floor: INITIATE,
        peer: Some("vodozemac/outbound_session"),
        note: "bundle verification (2 strict verifications), base key pair, DH1–DH4 (one-time prekey present), ML-KEM encapsulation, transcript hash (2469 B), session-AD hash, handshake-id hash (1190 B), handshake HKDF, then the first message: chain step + HKDF-Expand + header tag + seal (160-byte padded plaintext)",
    },
    Op {
        id: "handshake/respond",
        label: "responder setup incl. first decrypt",
        floor: RESPOND,
        peer: Some("vodozemac/inbound_session"),
        note: "decoding the PreKeyMessage validates IK_A (decompress, small-order and subgroup checks, map to X25519) and EK_A (subgroup check); DH1–DH4, ML-KEM decapsulation, the three hashes, handshake HKDF, then the first message: header tag + chain step + HKDF-Expand + open",
    },
    Op {
        id: "chain/encrypt/100",
        label: "same-chain encrypt 100 B",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (SealLibcrux(P100), 1),
        ],
        peer: Some("vodozemac/encrypt/100"),
        note: "1 chain step (HMAC key setup shared by two HMACs) + HKDF-Expand to 44 bytes + the header tag (one HMAC) + seal of the 160-byte padded plaintext",
    },
    Op {
        id: "chain/decrypt/100",
        label: "same-chain decrypt 100 B",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (OpenLibcrux(P100), 1),
        ],
        peer: Some("vodozemac/decrypt/100"),
        note: "the header tag (one HMAC), 1 chain step + HKDF-Expand + open of the 160-byte padded plaintext",
    },
    Op {
        id: "chain/encrypt/1024",
        label: "same-chain encrypt 1 KiB",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (SealRustCrypto(1152), 1),
        ],
        peer: Some("vodozemac/encrypt/1024"),
        note: "as 100 B, RustCrypto AEAD over the padded plaintext (1152 B for 1 KiB, 67 584 B for 64 KiB)",
    },
    Op {
        id: "chain/decrypt/1024",
        label: "same-chain decrypt 1 KiB",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (OpenRustCrypto(1152), 1),
        ],
        peer: Some("vodozemac/decrypt/1024"),
        note: "as 100 B, RustCrypto AEAD over the padded plaintext (1152 B for 1 KiB, 67 584 B for 64 KiB)",
    },
    Op {
        id: "chain/encrypt/65536",
        label: "same-chain encrypt 64 KiB",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (SealRustCrypto(67_584), 1),
        ],
        peer: Some("vodozemac/encrypt/65536"),
        note: "as 100 B, RustCrypto AEAD over the padded plaintext (1152 B for 1 KiB, 67 584 B for 64 KiB)",
    },
    Op {
        id: "chain/decrypt/65536",
        label: "same-chain decrypt 64 KiB",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (OpenRustCrypto(67_584), 1),
        ],
        peer: Some("vodozemac/decrypt/65536"),
        note: "as 100 B, RustCrypto AEAD over the padded plaintext (1152 B for 1 KiB, 67 584 B for 64 KiB)",
    },
    Op {
        id: "ratchet/new_key_encrypt",
        label: "new-ratchet-key encrypt 100 B",
        floor: NEW_KEY_ENCRYPT,
        peer: Some("vodozemac/new_key_encrypt"),
        note: "new ratchet key pair, DH, root HKDF, then a same-chain message",
    },
    Op {
        id: "ratchet/new_key_decrypt",
        label: "new-ratchet-key decrypt 100 B",
        floor: NEW_KEY_DECRYPT,
        peer: Some("vodozemac/new_key_decrypt"),
        note: "the header tag under the next header key, the new ratchet key's subgroup check, DH, root HKDF, then a same-chain message",
    },
    Op {
        id: "ratchet/ping_pong",
        label: "ping-pong round (2 × 100 B)",
        floor: &[
            (X25519Subgroup, 2),
            (X25519Keygen, 2),
            (X25519Dh, 4),
            (HkdfRoot, 4),
            (HmacChainStep, 4),
            (HkdfExpand44, 4),
            (HmacHeaderTag, 4),
            (SealLibcrux(P100), 2),
            (OpenLibcrux(P100), 2),
        ],
        peer: Some("vodozemac/ping_pong"),
        note: "2 × (new-ratchet-key encrypt + new-ratchet-key decrypt)",
    },
    Op {
        id: "jump/decrypt/1000",
        label: "decrypt after a forward jump of 1 000",
        floor: &[
            (HmacChainStep, 1001),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (OpenLibcrux(P100), 1),
        ],
        peer: None,
        note: "the header tag, 1 000 kept chain steps + the target's step, HKDF-Expand, open (the configuration keeps every skipped key)",
    },
    Op {
        id: "jump/decrypt/25000",
        label: "decrypt after a forward jump of 25 000",
        floor: &[
            (HmacChainStep, 25001),
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (OpenLibcrux(P100), 1),
        ],
        peer: None,
        note: "as 1 000",
    },
    Op {
        id: "skipped/decrypt_late",
        label: "late message from the skipped-key store",
        floor: &[
            (HkdfExpand44, 1),
            (HmacHeaderTag, 1),
            (OpenLibcrux(P100), 1),
        ],
        peer: None,
        note: "the header tag, lookup among 1 000 stored keys, HKDF-Expand, open",
    },
    Op {
        id: "group/encrypt/100",
        label: "group encrypt 100 B",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (SealLibcrux(P100), 1),
            (Ed25519SignGroup(GROUP_SIGNED[0]), 1),
        ],
        peer: Some("megolm/encrypt/100"),
        note: "1 chain step + HKDF-Expand to 44 bytes + seal of the 160-byte padded plaintext + one Ed25519 signature over label ‖ sender ‖ message (285 B)",
    },
    Op {
        id: "group/decrypt/100",
        label: "group decrypt 100 B",
        floor: &[
            (Ed25519VerifyGroup(GROUP_SIGNED[0]), 1),
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (OpenLibcrux(P100), 1),
        ],
        peer: Some("megolm/decrypt/100"),
        note: "strict verification of the signature (285 B) first, then 1 chain step + HKDF-Expand + open",
    },
    Op {
        id: "group/encrypt/65536",
        label: "group encrypt 64 KiB",
        floor: &[
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (SealRustCrypto(67_584), 1),
            (Ed25519SignGroup(GROUP_SIGNED[1]), 1),
        ],
        peer: Some("megolm/encrypt/65536"),
        note: "as 100 B: RustCrypto seal of 67 584 B, the signature over 67 709 B (two SHA-512 passes)",
    },
    Op {
        id: "group/decrypt/65536",
        label: "group decrypt 64 KiB",
        floor: &[
            (Ed25519VerifyGroup(GROUP_SIGNED[1]), 1),
            (HmacChainStep, 1),
            (HkdfExpand44, 1),
            (OpenRustCrypto(67_584), 1),
        ],
        peer: Some("megolm/decrypt/65536"),
        note: "as 100 B: strict verification over 67 709 B (one SHA-512 pass), RustCrypto open of 67 584 B",
    },
    Op {
        id: "record/serialize",
        label: "session serialize",
        floor: &[],
        peer: None,
        note: "no cryptography: encoding only",
    },
    Op {
        id: "record/deserialize",
        label: "session deserialize",
        floor: &[],
        peer: None,
        note: "no point arithmetic (record revision 2, PROTOCOL.md §4.4): decoding, the consistency checks, and the encodings of the stored keys and of the values derived from them",
    },
    Op {
        id: "parse/message",
        label: "parse Message (100 B)",
        floor: &[],
        peer: None,
        note: "structure, and the ratchet key's canonical check (its subgroup is checked only when it starts a new chain, after its header tag)",
    },
    Op {
        id: "parse/prekey_message",
        label: "parse PreKeyMessage",
        floor: &IDENTITY,
        peer: None,
        note: "IK_A validated and mapped to X25519, EK_A's subgroup check",
    },
    Op {
        id: "parse/bundle",
        label: "parse PreKeyBundle",
        floor: &[
            (Ed25519Decompress, 1),
            (Ed25519IsWeak, 1),
            (Ed25519TorsionFree, 1),
            (Ed25519ToMontgomery, 1),
            (X25519Subgroup, 2),
            (MlKemValidate, 1),
        ],
        peer: None,
        note: "IK_B validated and mapped, SPK_B and OPK_B subgroup checks, the ML-KEM key's modulus check",
    },
];

/// The operation with this id.
pub(crate) fn op(id: &str) -> &'static Op {
    match OPS.iter().find(|o| o.id == id) {
        Some(o) => o,
        None => panic!("no recipe for {id}"),
    }
}
