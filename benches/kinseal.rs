//! Every kinseal operation, and in the same run the primitives each one is
//! built from (the "floor"), measured with the same crates and features
//! kinseal links.
//!
//! `cargo bench --bench kinseal`; a quick smoke run:
//! `cargo bench --bench kinseal -- --quick --noplot`. The full comparison
//! with vodozemac and the report in `docs/PERFORMANCE.md` come from
//! `cargo run --release -p kinseal-bench-peer --bin report` (see the
//! README), which runs this benchmark and reads its results.
//!
//! Three kinds of measurement, all in one run:
//!
//! - `floor/<primitive>`: each primitive alone (X25519, Ed25519, ML-KEM-768,
//!   SHA-256, HKDF, HMAC, ChaCha20-Poly1305 through both implementations);
//! - `<group>/<operation>`, each immediately followed by
//!   `floor_of/<group>_<operation>`: the operation's recipe (the primitives
//!   it calls, as often as it calls them; `benches/support/recipes.rs`, the
//!   table the report renders too) run as one routine;
//! - `paired.json`: for the operations with a target relative to their
//!   floor, the two measured in alternation, rounds of a few milliseconds,
//!   and the median of the per-pair ratios. On a shared machine whose load moves
//!   over seconds, this is the steady number.
//!
//! Every input comes from a seeded generator. Each routine runs once,
//! untimed, before it is measured, and every result of a timed call is
//! checked: if a call fails, the run fails, so no number here is the cost
//! of an error path. A message can be decrypted only once, so decryption
//! benchmarks get fresh state from `iter_batched_ref` (a restored session
//! record or the next message in order), built outside the timed region and
//! dropped outside it too. Outputs are dropped inside the timed region, as
//! `iter` does for encryption: collecting them instead grows the heap by a
//! batch of plaintexts, and the page faults that costs were charged to
//! decryption alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20::ChaCha20Rng;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use kinseal::{
    DeviceAddress, DeviceList, GroupId, IdentityKeyPair, KemPreKeyPair, Message, OneTimePreKeyPair,
    PreKeyBundle, PreKeyMessage, ReceivedSenderKey, SenderKey, Session, SessionConfig,
    SignedPreKeyPair, UserAddress, UserIdentityKeyPair, VerifiedBundle,
};
use rand_core::{Rng, SeedableRng};

#[path = "support/recipes.rs"]
mod recipes;

#[path = "support/paired.rs"]
mod paired;

use paired::{paired, paired_budget, write_json};

use recipes::{AEAD_SIZES, Op, Prim};

/// Seconds since the Unix epoch stamped on generated prekeys.
const NOW: u64 = 1_767_225_600;
/// Plaintext sizes of the ratchet benchmarks: a chat line, a long message,
/// a large one.
const SIZES: [usize; 3] = [100, 1024, 64 * 1024];
/// The plaintext size of setup, new-ratchet-key and ping-pong messages.
const SMALL: usize = 100;
/// Plaintext sizes of the group benchmarks (issue 15).
const GROUP_SIZES: [usize; 2] = [100, 64 * 1024];
/// Forward jumps measured (messages skipped before the one decrypted).
const JUMPS: [u32; 2] = [1_000, 25_000];

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// Bob's keys, a bundle for them, and Alice's identity.
struct Parties {
    alice: IdentityKeyPair,
    bob: IdentityKeyPair,
    spk: SignedPreKeyPair,
    opk: OneTimePreKeyPair,
    kem: KemPreKeyPair,
    bundle: PreKeyBundle,
    bundle_bytes: Vec<u8>,
    verified: VerifiedBundle,
}

fn parties(r: &mut ChaCha20Rng) -> Parties {
    let bob = IdentityKeyPair::generate(r);
    let spk = SignedPreKeyPair::generate(r, &bob, 1, NOW);
    let opk = OneTimePreKeyPair::generate(r, 2);
    let kem = KemPreKeyPair::generate(r, &bob, 3, false, NOW);
    let bundle = PreKeyBundle::new(
        bob.public_key().clone(),
        spk.public().clone(),
        Some(*opk.public()),
        kem.public().clone(),
    );
    let bundle_bytes = bundle.to_bytes();
    let verified = bundle.clone().verify().unwrap();
    Parties {
        alice: IdentityKeyPair::generate(r),
        bob,
        spk,
        opk,
        kem,
        bundle,
        bundle_bytes,
        verified,
    }
}

/// Bob's side of a first message.
fn respond(p: &Parties, first: &[u8], config: SessionConfig) -> kinseal::InboundSession {
    let m = PreKeyMessage::from_bytes(first).unwrap();
    Session::respond(&p.bob, &p.spk, Some(&p.opk), &p.kem, &m, config).unwrap()
}

/// An established pair: Alice started, Bob replied, Alice read the reply,
/// so both send plain `Message`s; Bob's sending chain is current, and the
/// next message from Alice carries a new ratchet key.
fn established(r: &mut ChaCha20Rng, p: &Parties, config: &SessionConfig) -> (Session, Session) {
    let mut alice = Session::initiate(r, &p.alice, &p.verified, config.clone()).unwrap();
    let first = alice.encrypt(r, b"hello").unwrap();
    let mut bob = respond(p, &first, config.clone()).session;
    let reply = bob.encrypt(r, b"hello back").unwrap();
    alice.decrypt(&reply).unwrap();
    (alice, bob)
}

/// Batches of fresh sessions: small, so a batch of restored sessions (up
/// to a few MB with 25 000 stored keys) stays small.
const FRESH: BatchSize = BatchSize::NumIterations(16);

/// A session's record, for fresh copies of its state.
fn record(s: &Session) -> Vec<u8> {
    s.to_bytes().to_vec()
}

fn restore(bytes: &[u8]) -> Session {
    Session::from_bytes(bytes).unwrap()
}

// ---------------------------------------------------------------------------
// Floor: the primitives, through the crates kinseal uses
// ---------------------------------------------------------------------------

/// Lengths of the hashed and signed inputs, from `docs/PROTOCOL.md` and
/// `src/crypto/labels.rs` (each label includes its NUL byte).
mod len {
    /// Signed prekey signature input: label (25) ‖ suite ‖ id ‖ created_at ‖ public.
    pub(crate) const SIGNED_SPK: usize = 25 + 1 + 4 + 8 + 32;
    /// KEM prekey signature input: label (22) ‖ suite ‖ id ‖ kind ‖ created_at ‖ public.
    pub(crate) const SIGNED_KEM: usize = 22 + 1 + 4 + 1 + 8 + 1184;
    /// Transcript hash input with a one-time prekey (§6.2).
    pub(crate) const TRANSCRIPT: usize =
        22 + 2 + 32 + 32 + 4 + 32 + (1 + 4 + 32) + 4 + 1184 + 32 + 1088;
    /// Session AD input with an empty context (§6.3).
    pub(crate) const SESSION_AD: usize = 22 + 2 + 32 + 32 + 4;
    /// Handshake id input (§6.5).
    pub(crate) const HANDSHAKE_ID: usize = 24 + 1 + 32 + 32 + 4 + 1 + 4 + 4 + 1088;
    /// Handshake HKDF input: F ‖ DH1..DH4 ‖ SS.
    pub(crate) const HANDSHAKE_IKM: usize = 32 * 6;
    /// HANDSHAKE_INFO (37) is followed by the 32-byte transcript hash.
    pub(crate) const HANDSHAKE_INFO: usize = 37;
    pub(crate) const ROOT_INFO: usize = 16;
    pub(crate) const MESSAGE_KEY_INFO: usize = 23;
    /// The AEAD associated data: session AD ‖ header.
    pub(crate) const AEAD_AD: usize = 32 + 66;
    /// The header tag's input: label (22) ‖ session AD ‖ header bytes 0..50.
    pub(crate) const HEADER_TAG_INPUT: usize = 22 + 32 + 50;
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Buffers for one AEAD size: a plaintext, its ciphertext and tag, an output.
struct AeadBuffers {
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: [u8; 16],
    out: Vec<u8>,
}

/// Every primitive's inputs, prepared once, and [`Prims::run`] to call one
/// the way `src/crypto` calls it. The same calls serve the primitives
/// measured alone (`floor/…`) and the recipes measured as one routine
/// (`floor_of/…`).
struct Prims {
    rng: ChaCha20Rng,
    x_secret: x25519_dalek::StaticSecret,
    x_public: x25519_dalek::PublicKey,
    ed_seed: [u8; 32],
    signing: ed25519_dalek::SigningKey,
    verifying: ed25519_dalek::VerifyingKey,
    verifying_bytes: [u8; 32],
    spk_body: Vec<u8>,
    kem_body: Vec<u8>,
    spk_sig: ed25519_dalek::Signature,
    kem_sig: ed25519_dalek::Signature,
    kem_seed: [u8; 64],
    kem_public: [u8; 1184],
    kem_secret: [u8; 2400],
    kem_ct: [u8; 1088],
    transcript: Vec<u8>,
    session_ad: Vec<u8>,
    handshake_id: Vec<u8>,
    ikm: [u8; len::HANDSHAKE_IKM],
    hs_info: [u8; len::HANDSHAKE_INFO],
    th: [u8; 32],
    rk: [u8; 32],
    dh: [u8; 32],
    root_info: [u8; len::ROOT_INFO],
    mk_info: [u8; len::MESSAGE_KEY_INFO],
    header_tag_input: [u8; len::HEADER_TAG_INPUT],
    key: [u8; 32],
    nonce: [u8; 12],
    ad: [u8; len::AEAD_AD],
    aead: Vec<(usize, AeadBuffers)>,
    /// Group signature inputs and their signatures, by length.
    group_signed: Vec<(usize, Vec<u8>, ed25519_dalek::Signature)>,
}

impl Prims {
    fn new() -> Self {
        use ed25519_dalek::{Signer, SigningKey};
        use libcrux_ml_kem::mlkem768;
        use x25519_dalek::{PublicKey, StaticSecret};

        let mut rng = rng(10);
        let x_secret = StaticSecret::random_from_rng(&mut rng);
        let x_public = PublicKey::from(&StaticSecret::random_from_rng(&mut rng));
        let mut ed_seed = [0u8; 32];
        rng.fill_bytes(&mut ed_seed);
        let signing = SigningKey::from_bytes(&ed_seed);
        let verifying = signing.verifying_key();
        let spk_body = vec![0x11u8; len::SIGNED_SPK];
        let kem_body = vec![0x22u8; len::SIGNED_KEM];
        let spk_sig = signing.sign(&spk_body);
        let kem_sig = signing.sign(&kem_body);
        let mut kem_seed = [0u8; 64];
        rng.fill_bytes(&mut kem_seed);
        let (sk, pk) = mlkem768::generate_key_pair(kem_seed).into_parts();
        let kem_secret: [u8; 2400] = sk.into();
        let kem_public: [u8; 1184] = pk.into();
        let (ct, _) =
            mlkem768::encapsulate(&mlkem768::MlKem768PublicKey::from(&kem_public), [7; 32]);
        let key = [0xbbu8; 32];
        let nonce = [0xccu8; 12];
        let ad = [0xddu8; len::AEAD_AD];
        let aead = AEAD_SIZES
            .iter()
            .map(|&n| {
                let plaintext = vec![0x5au8; n];
                let mut ciphertext = vec![0u8; n];
                let mut tag = [0u8; 16];
                libcrux_chacha20poly1305::encrypt_detached(
                    &key,
                    &plaintext,
                    &mut ciphertext,
                    &mut tag,
                    &ad,
                    &nonce,
                )
                .unwrap();
                let out = vec![0u8; n];
                (
                    n,
                    AeadBuffers {
                        plaintext,
                        ciphertext,
                        tag,
                        out,
                    },
                )
            })
            .collect();
        let group_signed = recipes::GROUP_SIGNED
            .iter()
            .map(|&n| {
                let body = vec![0x5bu8; n];
                let sig = signing.sign(&body);
                (n, body, sig)
            })
            .collect();
        Prims {
            rng,
            group_signed,
            x_secret,
            x_public,
            ed_seed,
            verifying_bytes: verifying.to_bytes(),
            signing,
            verifying,
            spk_body,
            kem_body,
            spk_sig,
            kem_sig,
            kem_seed,
            kem_public,
            kem_secret,
            kem_ct: ct.into(),
            transcript: vec![0x33u8; len::TRANSCRIPT],
            session_ad: vec![0x33u8; len::SESSION_AD],
            handshake_id: vec![0x33u8; len::HANDSHAKE_ID],
            ikm: [0x44u8; len::HANDSHAKE_IKM],
            hs_info: [0x55u8; len::HANDSHAKE_INFO],
            th: [0x66u8; 32],
            rk: [0x77u8; 32],
            dh: [0x88u8; 32],
            root_info: [0x99u8; len::ROOT_INFO],
            mk_info: [0xaau8; len::MESSAGE_KEY_INFO],
            header_tag_input: [0xbbu8; len::HEADER_TAG_INPUT],
            key,
            nonce,
            ad,
            aead,
        }
    }

    fn buffers(&mut self, n: usize) -> &mut AeadBuffers {
        &mut self
            .aead
            .iter_mut()
            .find(|(size, _)| *size == n)
            .expect("an AEAD size that is measured")
            .1
    }

    fn group_signed(&self, n: usize) -> &(usize, Vec<u8>, ed25519_dalek::Signature) {
        self.group_signed
            .iter()
            .find(|(size, _, _)| *size == n)
            .expect("a group signature size that is measured")
    }

    /// Calls one primitive.
    fn run(&mut self, p: Prim) {
        use chacha20poly1305::aead::AeadInOut;
        use chacha20poly1305::aead::inout::InOutBuf;
        use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
        use hkdf::Hkdf;
        use hmac::{KeyInit, Mac};
        use libcrux_ml_kem::mlkem768;
        use sha2::{Digest, Sha256};
        use x25519_dalek::{PublicKey, StaticSecret};

        match p {
            Prim::X25519Keygen => {
                let s = StaticSecret::random_from_rng(&mut self.rng);
                black_box(PublicKey::from(&s));
            }
            Prim::X25519Dh => {
                black_box(black_box(&self.x_secret).diffie_hellman(black_box(&self.x_public)));
            }
            Prim::Ed25519Keygen => {
                black_box(SigningKey::from_bytes(black_box(&self.ed_seed)));
            }
            Prim::Ed25519ScalarBytes => {
                black_box(black_box(&self.signing).to_scalar_bytes());
            }
            Prim::Ed25519SignSpk => {
                black_box(self.signing.sign(black_box(&self.spk_body)));
            }
            Prim::Ed25519SignKem => {
                black_box(self.signing.sign(black_box(&self.kem_body)));
            }
            Prim::Ed25519VerifySpk => self
                .verifying
                .verify_strict(black_box(&self.spk_body), &self.spk_sig)
                .unwrap(),
            Prim::Ed25519VerifyKem => self
                .verifying
                .verify_strict(black_box(&self.kem_body), &self.kem_sig)
                .unwrap(),
            Prim::Ed25519SignGroup(n) => {
                let (_, body, _) = self.group_signed(n);
                black_box(self.signing.sign(black_box(body)));
            }
            Prim::Ed25519VerifyGroup(n) => {
                let (_, body, sig) = self.group_signed(n);
                self.verifying.verify_strict(black_box(body), sig).unwrap()
            }
            Prim::Ed25519Decompress => {
                black_box(VerifyingKey::from_bytes(black_box(&self.verifying_bytes)).unwrap());
            }
            Prim::Ed25519IsWeak => {
                black_box(black_box(&self.verifying).is_weak());
            }
            Prim::Ed25519ToMontgomery => {
                black_box(black_box(&self.verifying).to_montgomery());
            }
            Prim::Ed25519TorsionFree => {
                assert!(black_box(&self.verifying).to_edwards().is_torsion_free());
            }
            Prim::X25519Subgroup => {
                let u = curve25519_dalek::montgomery::MontgomeryPoint(
                    black_box(&self.x_public).to_bytes(),
                );
                assert!(u.to_edwards(0).is_some_and(|p| p.is_torsion_free()));
            }
            Prim::MlKemKeygen => {
                black_box(mlkem768::generate_key_pair(black_box(self.kem_seed)));
            }
            Prim::MlKemValidate => {
                let pk = mlkem768::MlKem768PublicKey::from(black_box(&self.kem_public));
                assert!(mlkem768::validate_public_key(&pk));
            }
            Prim::MlKemEncaps => {
                let pk = mlkem768::MlKem768PublicKey::from(black_box(&self.kem_public));
                black_box(mlkem768::encapsulate(&pk, [7; 32]));
            }
            Prim::MlKemDecaps => {
                let sk = mlkem768::MlKem768PrivateKey::from(black_box(&self.kem_secret));
                let ct = mlkem768::MlKem768Ciphertext::from(&self.kem_ct);
                black_box(mlkem768::decapsulate(&sk, &ct));
            }
            Prim::Sha256Transcript => {
                black_box(Sha256::digest(black_box(&self.transcript)));
            }
            Prim::Sha256SessionAd => {
                black_box(Sha256::digest(black_box(&self.session_ad)));
            }
            Prim::Sha256HandshakeId => {
                black_box(Sha256::digest(black_box(&self.handshake_id)));
            }
            Prim::HkdfHandshake => {
                let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), black_box(&self.ikm));
                let mut okm = [0u8; 64];
                hk.expand_multi_info(&[&self.hs_info, &self.th], &mut okm)
                    .unwrap();
                black_box(okm);
            }
            Prim::HkdfRoot => {
                let hk = Hkdf::<Sha256>::new(Some(black_box(&self.rk)), &self.dh);
                let mut okm = [0u8; 64];
                hk.expand(&self.root_info, &mut okm).unwrap();
                black_box(okm);
            }
            Prim::HkdfExpand44 => {
                let hk = Hkdf::<Sha256>::from_prk(black_box(&self.rk)).unwrap();
                let mut okm = [0u8; 44];
                hk.expand(&self.mk_info, &mut okm).unwrap();
                black_box(okm);
            }
            Prim::HmacChainStep => {
                // The keyed state computed once, cloned for the two MACs.
                let keyed = <HmacSha256 as KeyInit>::new_from_slice(black_box(&self.rk)).unwrap();
                let mut seed = keyed.clone();
                seed.update(&[1]);
                let mut next = keyed;
                next.update(&[2]);
                black_box((seed.finalize().into_bytes(), next.finalize().into_bytes()));
            }
            Prim::HmacHeaderTag => {
                let mut mac = <HmacSha256 as KeyInit>::new_from_slice(black_box(&self.rk)).unwrap();
                mac.update(&self.header_tag_input);
                black_box(mac.finalize().into_bytes());
            }
            Prim::SealLibcrux(n) => {
                let (key, nonce, ad) = (self.key, self.nonce, self.ad);
                let b = self.buffers(n);
                let mut tag = [0u8; 16];
                libcrux_chacha20poly1305::encrypt_detached(
                    black_box(&key),
                    &b.plaintext,
                    &mut b.out,
                    &mut tag,
                    &ad,
                    &nonce,
                )
                .unwrap();
                black_box(tag);
            }
            Prim::OpenLibcrux(n) => {
                let (key, nonce, ad) = (self.key, self.nonce, self.ad);
                let b = self.buffers(n);
                libcrux_chacha20poly1305::decrypt_detached(
                    black_box(&key),
                    &mut b.out,
                    &b.ciphertext,
                    &b.tag,
                    &ad,
                    &nonce,
                )
                .unwrap();
            }
            Prim::SealRustCrypto(n) => {
                let (key, nonce, ad) = (self.key, self.nonce, self.ad);
                let b = self.buffers(n);
                let cipher = chacha20poly1305::ChaCha20Poly1305::new(black_box(&key).into());
                let buffer = InOutBuf::new(&b.plaintext, &mut b.out).unwrap();
                black_box(
                    cipher
                        .encrypt_inout_detached(&nonce.into(), &ad, buffer)
                        .unwrap(),
                );
            }
            Prim::OpenRustCrypto(n) => {
                let (key, nonce, ad) = (self.key, self.nonce, self.ad);
                let b = self.buffers(n);
                let cipher = chacha20poly1305::ChaCha20Poly1305::new(black_box(&key).into());
                let buffer = InOutBuf::new(&b.ciphertext, &mut b.out).unwrap();
                cipher
                    .decrypt_inout_detached(&nonce.into(), &ad, buffer, &b.tag.into())
                    .unwrap();
            }
        }
    }

    /// Runs an operation's recipe once.
    fn recipe(&mut self, op: &Op) {
        for &(p, n) in op.floor {
            for _ in 0..n {
                self.run(p);
            }
        }
    }
}

/// Every primitive alone.
fn floor(c: &mut Criterion, prims: &mut Prims) {
    let mut g = c.benchmark_group("floor");
    for p in Prim::all() {
        match p {
            Prim::SealLibcrux(n)
            | Prim::OpenLibcrux(n)
            | Prim::SealRustCrypto(n)
            | Prim::OpenRustCrypto(n) => {
                g.throughput(Throughput::Bytes(n as u64));
            }
            _ => {
                g.throughput(Throughput::Elements(1));
            }
        }
        g.bench_function(p.id(), |b| b.iter(|| prims.run(p)));
    }
    g.finish();
}

/// Measures operation `id`'s recipe as one routine: the floor it is
/// compared with, measured right after it so that the machine's load
/// drifts as little as possible between the two.
fn floor_of(c: &mut Criterion, prims: &mut Prims, id: &str) {
    let op = recipes::op(id);
    if op.floor.is_empty() {
        return;
    }
    let name = op.floor_id();
    let name = name.trim_start_matches("floor_of/");
    let mut g = c.benchmark_group("floor_of");
    if op.id.starts_with("jump/") || op.id.ends_with("_batch_100") {
        g.sample_size(10);
    }
    g.bench_function(name, |b| b.iter(|| prims.recipe(op)));
    g.finish();
}

// ---------------------------------------------------------------------------
// kinseal
// ---------------------------------------------------------------------------

/// One benchmark in group `group`, then its floor (if it has one).
fn op(
    c: &mut Criterion,
    prims: &mut Prims,
    id: &str,
    configure: impl FnOnce(&mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>),
    bench: impl FnMut(&mut criterion::Bencher<'_>),
) {
    let (group, name) = id.split_once('/').expect("group/name");
    let mut g = c.benchmark_group(group);
    configure(&mut g);
    // `group/function/parameter` ids keep criterion's directory layout.
    match name.split_once('/') {
        Some((function, parameter)) => {
            g.bench_function(BenchmarkId::new(function, parameter), bench)
        }
        None => g.bench_function(name, bench),
    };
    g.finish();
    floor_of(c, prims, id);
}

fn none(_: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {}

fn few(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(10);
}

fn keys(c: &mut Criterion, prims: &mut Prims) {
    let mut r = rng(1);
    let identity = IdentityKeyPair::generate(&mut r);
    op(c, prims, "keys/identity_generate", none, |b| {
        b.iter(|| IdentityKeyPair::generate(&mut r))
    });
    op(c, prims, "keys/signed_prekey_generate", none, |b| {
        b.iter(|| SignedPreKeyPair::generate(&mut r, &identity, 1, NOW))
    });
    op(c, prims, "keys/one_time_prekey_generate", none, |b| {
        b.iter(|| OneTimePreKeyPair::generate(&mut r, 1))
    });
    op(c, prims, "keys/kem_prekey_generate", none, |b| {
        b.iter(|| KemPreKeyPair::generate(&mut r, &identity, 1, false, NOW))
    });
    op(c, prims, "keys/one_time_prekey_batch_100", none, |b| {
        b.iter(|| OneTimePreKeyPair::generate_batch(&mut r, 1, 100).unwrap())
    });
    op(c, prims, "keys/kem_prekey_batch_100", few, |b| {
        b.iter(|| KemPreKeyPair::generate_batch(&mut r, &identity, 1, 100, NOW).unwrap())
    });
}

fn bundle_and_parse(c: &mut Criterion, prims: &mut Prims, p: &Parties) {
    let mut r = rng(2);
    // Two strict Ed25519 verifications of a bundle already decoded.
    op(c, prims, "bundle/verify", none, |b| {
        b.iter_batched(
            || p.bundle.clone(),
            |bundle| bundle.verify().unwrap(),
            BatchSize::SmallInput,
        )
    });

    // Decoding each wire type (keys validated; bundle signatures are
    // `bundle/verify`; the session record is `record/deserialize`).
    let mut alice =
        Session::initiate(&mut r, &p.alice, &p.verified, SessionConfig::default()).unwrap();
    let first = alice.encrypt(&mut r, &[0x5a; SMALL]).unwrap();
    let mut bob = respond(p, &first, SessionConfig::default()).session;
    let reply = bob.encrypt(&mut r, &[0x5a; SMALL]).unwrap();
    op(c, prims, "parse/bundle", none, |b| {
        b.iter(|| PreKeyBundle::from_bytes(black_box(&p.bundle_bytes)).unwrap())
    });
    op(c, prims, "parse/prekey_message", none, |b| {
        b.iter(|| PreKeyMessage::from_bytes(black_box(&first)).unwrap())
    });
    op(c, prims, "parse/message", none, |b| {
        b.iter(|| Message::from_bytes(black_box(&reply)).unwrap())
    });
}

fn handshake(c: &mut Criterion, prims: &mut Prims, p: &Parties) {
    let mut r = rng(3);
    let plaintext = [0x5au8; SMALL];
    // From a decoded bundle: verify both signatures, derive the session,
    // encrypt the first (100-byte) message into a PreKeyMessage.
    op(c, prims, "handshake/initiate", none, |b| {
        b.iter_batched(
            || p.bundle.clone(),
            |bundle| {
                let verified = bundle.verify().unwrap();
                let mut s =
                    Session::initiate(&mut r, &p.alice, &verified, SessionConfig::default())
                        .unwrap();
                let first = s.encrypt(&mut r, &plaintext).unwrap();
                (s, first)
            },
            BatchSize::SmallInput,
        )
    });
    // From the PreKeyMessage's bytes: decode, derive, decrypt the first
    // message. `respond` consumes nothing (deleting the one-time prekeys
    // is the caller's job), so the same message can be answered each time.
    let first = Session::initiate(&mut r, &p.alice, &p.verified, SessionConfig::default())
        .unwrap()
        .encrypt(&mut r, &plaintext)
        .unwrap();
    op(c, prims, "handshake/respond", none, |b| {
        b.iter(|| {
            let m = PreKeyMessage::from_bytes(black_box(&first)).unwrap();
            Session::respond(
                &p.bob,
                &p.spk,
                Some(&p.opk),
                &p.kem,
                &m,
                SessionConfig::default(),
            )
            .unwrap()
        })
    });
}

fn chain(c: &mut Criterion, prims: &mut Prims, p: &Parties) {
    let mut r = rng(4);
    let config = SessionConfig::default();
    // Two pairs: the encrypt benchmark runs its sender far ahead of any
    // receiver, so decryption gets a pair of its own that stays in step.
    let (mut sender, _) = established(&mut r, p, &config);
    let (mut alice, mut bob) = established(&mut r, p, &config);
    // Start both sending chains, so every timed call is a same-chain step.
    sender.encrypt(&mut r, b"start").unwrap();
    bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
        .unwrap();
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        let bytes = |g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>| {
            g.throughput(Throughput::Bytes(size as u64));
        };
        op(c, prims, &format!("chain/encrypt/{size}"), bytes, |b| {
            b.iter(|| sender.encrypt(&mut r, &plaintext).unwrap())
        });
        // The untimed setup encrypts the next message, in order; only the
        // decryption is timed.
        op(c, prims, &format!("chain/decrypt/{size}"), bytes, |b| {
            b.iter_batched_ref(
                || alice.encrypt(&mut r, &plaintext).unwrap(),
                |m| drop(bob.decrypt(m).unwrap()),
                in_cache(size),
            )
        });
    }
    assert_eq!(
        bob.stored_skipped_keys(),
        0,
        "the receiver fell out of step"
    );
    // The same with `Padding::NONE` (only the end marker): what the
    // default padding costs in time.
    let unpadded = SessionConfig::default().with_padding(kinseal::Padding::NONE);
    let (mut sender, _) = established(&mut r, p, &unpadded);
    let (mut alice, mut bob) = established(&mut r, p, &unpadded);
    sender.encrypt(&mut r, b"start").unwrap();
    bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
        .unwrap();
    let mut g = c.benchmark_group("padding");
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("encrypt_unpadded", size), |b| {
            b.iter(|| sender.encrypt(&mut r, &plaintext).unwrap())
        });
        g.bench_function(BenchmarkId::new("decrypt_unpadded", size), |b| {
            b.iter_batched_ref(
                || alice.encrypt(&mut r, &plaintext).unwrap(),
                |m| drop(bob.decrypt(m).unwrap()),
                in_cache(size),
            )
        });
    }
    g.finish();
}

/// Group messages under a sender key (PROTOCOL.md §16.3, §16.4), as
/// `chain`: the encrypting sender key runs ahead on its own; decryption
/// has a sender and a receiver of its own that stay in step, the next
/// message built outside the timed region.
fn group(c: &mut Criterion, prims: &mut Prims) {
    let mut r = rng(11);
    let address = DeviceAddress::new(b"chirp", b"alice@example.org", 1).unwrap();
    let group = GroupId::generate(&mut r);
    let mut sender = SenderKey::generate(&mut r, group, 0);
    let mut alice = SenderKey::generate(&mut r, group, 0);
    let mut bob = ReceivedSenderKey::from_distribution(&alice.distribution(), &address);
    for size in GROUP_SIZES {
        let plaintext = vec![0x5a; size];
        // The recipe's signature input is this message's.
        let m = sender.encrypt(&address, &plaintext).unwrap();
        let padded = kinseal::Padding::DEFAULT.padded_len(size);
        assert_eq!(
            m.len() - 64 + 25 + recipes::GROUP_SENDER_LEN,
            recipes::group_signed_len(padded)
        );
        let bytes = |g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>| {
            g.throughput(Throughput::Bytes(size as u64));
        };
        op(c, prims, &format!("group/encrypt/{size}"), bytes, |b| {
            b.iter(|| sender.encrypt(&address, &plaintext).unwrap())
        });
        op(c, prims, &format!("group/decrypt/{size}"), bytes, |b| {
            b.iter_batched_ref(
                || alice.encrypt(&address, &plaintext).unwrap(),
                |m| drop(bob.decrypt(&address, m).unwrap()),
                in_cache(size),
            )
        });
    }
    assert_eq!(bob.skipped_keys(), 0, "the receiver fell out of step");
}

fn ratchet(c: &mut Criterion, prims: &mut Prims, p: &Parties) {
    let mut r = rng(5);
    let config = SessionConfig::default();
    let plaintext = [0x5au8; SMALL];
    let (mut alice, mut bob) = established(&mut r, p, &config);

    // Alice has read Bob's reply, so her next message starts a new sending
    // chain: a key generation, a DH and a root step, then the chain step.
    let alice_ready = record(&alice);
    let new_key_message = alice.encrypt(&mut r, &plaintext).unwrap();
    op(c, prims, "ratchet/new_key_encrypt", none, |b| {
        b.iter_batched_ref(
            || restore(&alice_ready),
            |s| drop(s.encrypt(&mut r, &plaintext).unwrap()),
            FRESH,
        )
    });
    // Bob receives that message: a DH and a root step for the new chain.
    let bob_ready = record(&bob);
    op(c, prims, "ratchet/new_key_decrypt", none, |b| {
        b.iter_batched_ref(
            || restore(&bob_ready),
            |s| drop(s.decrypt(&new_key_message).unwrap()),
            FRESH,
        )
    });
    bob.decrypt(&new_key_message).unwrap();

    // Alice → Bob, Bob → Alice: each direction change is a DH ratchet step
    // on both sides.
    let mut round = |r: &mut ChaCha20Rng| {
        bob.decrypt(&alice.encrypt(r, &plaintext).unwrap()).unwrap();
        alice.decrypt(&bob.encrypt(r, &plaintext).unwrap()).unwrap()
    };
    round(&mut r);
    op(c, prims, "ratchet/ping_pong", none, |b| {
        b.iter(|| round(&mut r))
    });
}

/// Decrypting a message `jump` indices ahead on the current chain, with a
/// configuration that keeps every skipped key (so the work is the same for
/// each skipped index), then a late message out of the store.
fn jumps(c: &mut Criterion, prims: &mut Prims, p: &Parties) {
    let mut r = rng(6);
    let config = SessionConfig::default()
        .with_max_forward_jump(25_000)
        .unwrap()
        .with_max_skipped_keys(25_000)
        .unwrap();
    let plaintext = [0x5au8; SMALL];
    let mut late = None;
    for jump in JUMPS {
        let (mut alice, mut bob) = established(&mut r, p, &config);
        bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
            .unwrap();
        let bob_ready = record(&bob);
        let mut skipped = Vec::new();
        for _ in 0..jump {
            skipped.push(alice.encrypt(&mut r, &plaintext).unwrap());
        }
        let target = alice.encrypt(&mut r, &plaintext).unwrap();
        op(c, prims, &format!("jump/decrypt/{jump}"), few, |b| {
            b.iter_batched_ref(
                || restore(&bob_ready),
                |s| drop(s.decrypt(&target).unwrap()),
                FRESH,
            )
        });
        if late.is_none() {
            bob.decrypt(&target).unwrap();
            assert_eq!(bob.stored_skipped_keys(), jump as usize);
            // A message from the middle of the gap, out of the store.
            late = Some((record(&bob), skipped.swap_remove(skipped.len() / 2)));
        }
    }

    let (bob_after, message) = late.unwrap();
    op(c, prims, "skipped/decrypt_late", none, |b| {
        b.iter_batched_ref(
            || restore(&bob_after),
            |s| drop(s.decrypt(&message).unwrap()),
            FRESH,
        )
    });
}

/// The cost of a forgery (issue 13): what a message from anyone without
/// the session's current secrets costs its receiver. Each forgery is an
/// honest message with its counters raised to the bounds (so without the
/// header tag it would make the receiver follow its chains up to
/// `max_forward_jump` steps); the header tag fails first. The session is
/// unchanged by a rejection, so one session serves every iteration.
fn forgery(c: &mut Criterion, p: &Parties) {
    let mut r = rng(8);
    let jump = 25_000u32;
    let config = SessionConfig::default()
        .with_max_forward_jump(jump)
        .unwrap()
        .with_max_skipped_keys(25_000)
        .unwrap();
    let (mut alice, mut bob) = established(&mut r, p, &config);
    bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
        .unwrap();
    let raise = |m: &[u8], at: usize, v: u32| {
        let mut b = m.to_vec();
        b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        b
    };
    let (pn_at, n_at) = (38, 42);
    // Bob's next message is on Alice's known chain; his reply to it would
    // start a new one.
    let known = raise(&alice.encrypt(&mut r, b"x").unwrap(), n_at, jump);
    let reply = bob.encrypt(&mut r, b"y").unwrap();
    let new_key = raise(&raise(&reply, n_at, jump), pn_at, jump);
    let mut g = c.benchmark_group("forgery");
    g.bench_function("session_known_chain_jump_25000", |b| {
        b.iter(|| assert!(bob.decrypt(&known).is_err()))
    });
    g.bench_function("session_new_ratchet_key_both_jumps_25000", |b| {
        b.iter(|| assert!(alice.decrypt(&new_key).is_err()))
    });
    // A forged first message: a real handshake's, its index raised.
    let mut fresh = Session::initiate(&mut r, &p.alice, &p.verified, config.clone()).unwrap();
    let first = fresh.encrypt(&mut r, b"hi").unwrap();
    let at = first.len() - (66 + kinseal::Padding::DEFAULT.padded_len(2) + 16);
    let forged = raise(&first, at + n_at, jump);
    let forged = PreKeyMessage::from_bytes(&forged).unwrap();
    let honest = PreKeyMessage::from_bytes(&first).unwrap();
    g.bench_function("prekey_message_index_25000", |b| {
        b.iter(|| {
            assert!(
                Session::respond(
                    &p.bob,
                    &p.spk,
                    Some(&p.opk),
                    &p.kem,
                    &forged,
                    config.clone()
                )
                .is_err()
            )
        })
    });
    g.bench_function("prekey_message_honest_index_0", |b| {
        b.iter(|| {
            Session::respond(
                &p.bob,
                &p.spk,
                Some(&p.opk),
                &p.kem,
                &honest,
                config.clone(),
            )
            .unwrap()
        })
    });
    g.finish();
}

/// What a peer pays for a user's device list (issue 14): decoding it
/// (the user key and every device identity key checked, PROTOCOL.md §3.1)
/// and verifying its signature, for a list of one device and of
/// `MAX_DEVICES_PER_USER`.
fn device_list(c: &mut Criterion) {
    let mut r = rng(9);
    let user = UserIdentityKeyPair::generate(&mut r);
    let address = UserAddress::new(b"chirp", b"alice@example.org").unwrap();
    let devices: Vec<IdentityKeyPair> = (0..kinseal::server::MAX_DEVICES_PER_USER)
        .map(|_| IdentityKeyPair::generate(&mut r))
        .collect();
    let mut g = c.benchmark_group("device_list");
    for n in [1, kinseal::server::MAX_DEVICES_PER_USER] {
        let set = (0..n).map(|i| (i as u32, devices[i].public_key(), NOW));
        let bytes = DeviceList::first(&user, &address, NOW, set)
            .unwrap()
            .to_bytes();
        g.bench_function(BenchmarkId::new("verify", n), |b| {
            b.iter(|| {
                DeviceList::from_bytes(black_box(&bytes))
                    .unwrap()
                    .verify()
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn persistence(c: &mut Criterion, prims: &mut Prims, p: &Parties) {
    let mut r = rng(7);
    let (mut alice, mut bob) = established(&mut r, p, &SessionConfig::default());
    // A session with some history: a few turns and two messages still in
    // flight, so the record holds old chains and skipped keys.
    for _ in 0..3 {
        bob.decrypt(&alice.encrypt(&mut r, b"ping").unwrap())
            .unwrap();
        alice
            .decrypt(&bob.encrypt(&mut r, b"pong").unwrap())
            .unwrap();
    }
    let _late_1 = bob.encrypt(&mut r, b"late 1").unwrap();
    let _late_2 = bob.encrypt(&mut r, b"late 2").unwrap();
    alice
        .decrypt(&bob.encrypt(&mut r, b"on time").unwrap())
        .unwrap();
    let bytes = record(&alice);
    op(c, prims, "record/serialize", none, |b| {
        b.iter(|| black_box(&alice).to_bytes())
    });
    op(c, prims, "record/deserialize", none, |b| {
        b.iter(|| Session::from_bytes(black_box(&bytes)).unwrap())
    });
}

/// Batches of messages to decrypt small enough to stay in cache, as the
/// floor's buffers and the encryption benchmarks' plaintexts do (with
/// criterion's default batches of a tenth of the iterations, 100 000
/// messages waited in memory and every decryption started with cache
/// misses on its input).
fn in_cache(size: usize) -> BatchSize {
    BatchSize::NumIterations(if size >= 64 * 1024 { 4 } else { 64 })
}

// ---------------------------------------------------------------------------
// Paired ratios
// ---------------------------------------------------------------------------

/// Times `n` runs of a recipe.
fn recipe_time(prims: &mut Prims, id: &str, n: u32) -> Duration {
    let op = recipes::op(id);
    let t = Instant::now();
    for _ in 0..n {
        prims.recipe(op);
    }
    t.elapsed()
}

/// Paired ratios for the operations with targets relative to their floor;
/// written to `<criterion dir>/paired.json` for the report.
fn paired_ratios(prims: &mut Prims, p: &Parties) {
    let budget = paired_budget();
    let mut r = rng(8);
    let mut results: Vec<(String, (f64, f64, f64))> = Vec::new();
    let config = SessionConfig::default();
    let plaintext = [0x5au8; SMALL];

    // Same chain, each size. As in `chain`, the encrypting session runs
    // ahead on its own (each message dropped at once, as `iter` does), and
    // decryption has a pair of its own.
    let (mut sender, _) = established(&mut r, p, &config);
    sender.encrypt(&mut r, b"start").unwrap();
    let (mut alice, mut bob) = established(&mut r, p, &config);
    bob.decrypt(&alice.encrypt(&mut r, b"start").unwrap())
        .unwrap();
    for size in SIZES {
        let pt = vec![0x5au8; size];
        let id = format!("chain/encrypt/{size}");
        let res = paired(
            |n| {
                let t = Instant::now();
                for _ in 0..n {
                    drop(sender.encrypt(&mut r, &pt).unwrap());
                }
                t.elapsed()
            },
            |n| recipe_time(prims, &id, n),
            budget,
        );
        results.push((id, res));
        let id = format!("chain/decrypt/{size}");
        let res = paired(
            |n| {
                let msgs: Vec<Vec<u8>> = (0..n)
                    .map(|_| alice.encrypt(&mut r, &pt).unwrap())
                    .collect();
                let t = Instant::now();
                for m in &msgs {
                    drop(bob.decrypt(m).unwrap());
                }
                t.elapsed()
            },
            |n| recipe_time(prims, &id, n),
            budget,
        );
        results.push((id, res));
    }

    // Setup, both sides.
    let id = "handshake/initiate";
    let res = paired(
        |n| {
            let bundles: Vec<PreKeyBundle> = (0..n).map(|_| p.bundle.clone()).collect();
            let mut out = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for bundle in bundles {
                let verified = bundle.verify().unwrap();
                let mut s = Session::initiate(&mut r, &p.alice, &verified, config.clone()).unwrap();
                let first = s.encrypt(&mut r, &plaintext).unwrap();
                out.push((s, first));
            }
            t.elapsed()
        },
        |n| recipe_time(prims, id, n),
        budget,
    );
    results.push((id.to_string(), res));
    let first = Session::initiate(&mut r, &p.alice, &p.verified, config.clone())
        .unwrap()
        .encrypt(&mut r, &plaintext)
        .unwrap();
    let id = "handshake/respond";
    let res = paired(
        |n| {
            let mut out = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for _ in 0..n {
                let m = PreKeyMessage::from_bytes(black_box(&first)).unwrap();
                out.push(
                    Session::respond(&p.bob, &p.spk, Some(&p.opk), &p.kem, &m, config.clone())
                        .unwrap(),
                );
            }
            t.elapsed()
        },
        |n| recipe_time(prims, id, n),
        budget,
    );
    results.push((id.to_string(), res));

    // New ratchet keys, from restored sessions.
    let (mut alice, bob) = established(&mut r, p, &config);
    let alice_ready = record(&alice);
    let bob_ready = record(&bob);
    let new_key_message = alice.encrypt(&mut r, &plaintext).unwrap();
    let id = "ratchet/new_key_encrypt";
    let res = paired(
        |n| {
            let mut sessions: Vec<Session> = (0..n).map(|_| restore(&alice_ready)).collect();
            let t = Instant::now();
            for s in &mut sessions {
                drop(s.encrypt(&mut r, &plaintext).unwrap());
            }
            t.elapsed()
        },
        |n| recipe_time(prims, id, n),
        budget,
    );
    results.push((id.to_string(), res));
    let id = "ratchet/new_key_decrypt";
    let res = paired(
        |n| {
            let mut sessions: Vec<Session> = (0..n).map(|_| restore(&bob_ready)).collect();
            let t = Instant::now();
            for s in &mut sessions {
                drop(s.decrypt(&new_key_message).unwrap());
            }
            t.elapsed()
        },
        |n| recipe_time(prims, id, n),
        budget,
    );
    results.push((id.to_string(), res));

    // A smoke run (`cargo test --all-targets`, `--quick`) times nothing
    // worth keeping: it must not overwrite the last measured ratios, which
    // `report --no-run` reads.
    if !budget.is_zero() {
        write_json(env!("CARGO_MANIFEST_DIR"), "paired.json", &results);
    }
}

fn main() {
    // The floors' AEAD sizes are the padded lengths of the plaintexts sent.
    for (n, padded) in SIZES.iter().zip(AEAD_SIZES) {
        assert_eq!(kinseal::Padding::DEFAULT.padded_len(*n), padded);
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args();
    let p = parties(&mut rng(0));
    let mut prims = Prims::new();
    floor(&mut c, &mut prims);
    keys(&mut c, &mut prims);
    bundle_and_parse(&mut c, &mut prims, &p);
    handshake(&mut c, &mut prims, &p);
    chain(&mut c, &mut prims, &p);
    ratchet(&mut c, &mut prims, &p);
    group(&mut c, &mut prims);
    jumps(&mut c, &mut prims, &p);
    forgery(&mut c, &p);
    device_list(&mut c);
    persistence(&mut c, &mut prims, &p);
    paired_ratios(&mut prims, &p);
    c.final_summary();
}
