//! `Debug` output of every public type that holds a secret shows none of
//! its secret bytes: neither as hex (either case) nor as a decimal list
//! (how `{:?}` prints a byte array or `Vec<u8>`), in `{:?}` or `{:#?}`.
//!
//! The secrets are obtained without any test-only API: from
//! `to_secret_bytes()`, from the session record (`Session::to_bytes()`,
//! read by the offsets of PROTOCOL.md §4.4), or, for prekey pairs, by
//! replaying the seeded RNG they were generated from (and checking that
//! the replayed secret gives the published public key).
//!
//! The crate-private secret types are checked by unit tests in
//! `src/hygiene.rs`.

use crate::common;
#[path = "../../src/redaction_check.rs"]
mod redaction;

use common::*;
use kinseal::{
    DeviceList, IdentityKeyPair, KemPreKeyPair, LinkRequest, OneTimePreKeyPair,
    ProvisioningMessage, SecretBytes, Session, SessionConfig, SignedPreKeyPair, UserAddress,
    UserIdentityKeyPair,
};
use rand_core::Rng;
use redaction::assert_redacted;
use sha2::{Digest, Sha512};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Both renderings of `v`.
fn debug_of(v: &impl core::fmt::Debug) -> [String; 2] {
    [format!("{v:?}"), format!("{v:#?}")]
}

fn check(what: &str, v: &impl core::fmt::Debug, secrets: &[&[u8]]) {
    assert!(!secrets.is_empty());
    for d in debug_of(v) {
        for s in secrets {
            assert_redacted(what, &d, s);
        }
    }
}

#[test]
fn the_checker_catches_hex_and_decimal_renderings() {
    let secret: Vec<u8> = (100..140).collect();
    for leaked in [
        format!("K({})", hex(&secret[5..9])),
        format!("K({})", hex(&secret[5..9]).to_uppercase()),
        format!("K({:?})", &secret[20..30]),
        format!("K({:#?})", secret[30..36].to_vec()),
    ] {
        let caught = std::panic::catch_unwind(|| assert_redacted("leak", &leaked, &secret));
        assert!(caught.is_err(), "not caught: {leaked}");
    }
    assert_redacted("clean", "K(<redacted>) 1, 2, 3", &secret);
}

#[test]
fn identity_key_pair() {
    let mut rng = rng(1100);
    let pair = IdentityKeyPair::generate(&mut rng);
    let sk = pair.to_secret_bytes();
    // The X25519 form and the signing nonce prefix: SHA-512(sk).
    let expanded = Sha512::digest(&*sk);
    check("IdentityKeyPair", &pair, &[&sk, &expanded]);
    check("IdentityKeyPair clone", &pair.clone(), &[&sk, &expanded]);
    // The public key is shown.
    assert!(format!("{pair:?}").contains(&hex(pair.public_key().as_bytes())));
}

#[test]
fn user_identity_key_pair() {
    let pair = UserIdentityKeyPair::generate(&mut rng(1101));
    let sk = pair.to_secret_bytes();
    let expanded = Sha512::digest(&*sk);
    check("UserIdentityKeyPair", &pair, &[&sk, &expanded]);
    assert!(format!("{pair:?}").contains(&hex(pair.public_key().as_bytes())));
}

/// A link request draws the new device's identity secret, then its
/// ephemeral X25519 secret: replayed, they give the request's public keys,
/// and neither shows, nor the user secret in what opening gives.
#[test]
fn link_request_and_provisioned_device() {
    let mut replay = rng(1102);
    let (mut identity, mut ephemeral) = ([0u8; 32], [0u8; 32]);
    replay.fill_bytes(&mut identity);
    replay.fill_bytes(&mut ephemeral);
    let request = LinkRequest::new(&mut rng(1102));
    let code = request.code();
    assert_eq!(code.ephemeral_key(), &x25519_public(&ephemeral));
    assert_eq!(
        IdentityKeyPair::from_secret_bytes(&identity)
            .unwrap()
            .public_key(),
        request.identity_key()
    );
    let expanded = Sha512::digest(identity);
    check("LinkRequest", &request, &[&identity, &expanded, &ephemeral]);

    let user = UserIdentityKeyPair::generate(&mut rng(1103));
    let address = UserAddress::new(b"chirp", b"alice").unwrap();
    let list = DeviceList::first(
        &user,
        &address,
        CREATED_AT,
        [(2, code.identity_key(), CREATED_AT)],
    )
    .unwrap();
    let message = ProvisioningMessage::seal(&mut rng(1104), &code, &user, &list, 2).unwrap();
    let linked = request.open(&message).unwrap();
    let user_secret = user.to_secret_bytes();
    check(
        "Provisioned",
        &linked,
        &[
            &identity,
            &expanded,
            &user_secret,
            &Sha512::digest(&*user_secret),
        ],
    );
    assert!(format!("{linked:?}").contains(&hex(user.public_key().as_bytes())));
}

/// A secret generated from `rng(seed)`: the first `N` bytes it yields.
fn first_draw<const N: usize>(seed: u64) -> [u8; N] {
    let mut out = [0u8; N];
    rng(seed).fill_bytes(&mut out);
    out
}

fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret)).to_bytes()
}

#[test]
fn prekey_pairs() {
    let identity = IdentityKeyPair::generate(&mut rng(1110));

    let secret = first_draw::<32>(1111);
    let spk = SignedPreKeyPair::generate(&mut rng(1111), &identity, 5, CREATED_AT);
    assert_eq!(&x25519_public(&secret), spk.public().public_key());
    check("SignedPreKeyPair", &spk, &[&secret]);

    let secret = first_draw::<32>(1112);
    let opk = OneTimePreKeyPair::generate(&mut rng(1112), 6);
    assert_eq!(&x25519_public(&secret), opk.public().public_key());
    check("OneTimePreKeyPair", &opk, &[&secret]);

    for last_resort in [false, true] {
        let seed = first_draw::<64>(1113);
        let kem = KemPreKeyPair::generate(&mut rng(1113), &identity, 7, last_resort, CREATED_AT);
        let kp = libcrux_ml_kem::mlkem768::generate_key_pair(seed);
        assert_eq!(
            kp.public_key().as_slice()[..],
            kem.public().public_key()[..]
        );
        // dk = dk_pke ‖ ek ‖ H(ek) ‖ z; ek and H(ek) are public.
        let dk = kp.private_key().as_slice();
        check("KemPreKeyPair", &kem, &[&seed, &dk[..1152], &dk[2368..]]);
    }
}

/// Sessions in several states: pending setup data, a sending chain,
/// several receiving chains, skipped keys.
fn sessions() -> Vec<(String, Session)> {
    let mut rng = rng(1120);
    let (_keys, p) = established(&mut rng, SessionConfig::default());
    let (mut alice, mut bob) = (p.alice, p.bob);
    let mut out = Vec::new();
    let mut fresh_rng = common::rng(1121);
    let keys = Bob::new(&mut fresh_rng);
    let fresh = pair_with(
        &mut fresh_rng,
        &keys,
        BundleChoice::FULL,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    out.push(("initiator, pending".to_string(), fresh.alice));
    out.push(("responder, no ratchet key".to_string(), fresh.bob));
    for round in 0..3 {
        let from_bob: Vec<Vec<u8>> = (0..4)
            .map(|i| bob.encrypt(&mut rng, &plaintext(i)).unwrap())
            .collect();
        // Deliver every other one: keys are kept for the rest.
        for m in from_bob.iter().step_by(2) {
            alice.decrypt(m).unwrap();
        }
        let from_alice = alice.encrypt(&mut rng, b"reply").unwrap();
        bob.decrypt(&from_alice).unwrap();
        out.push((format!("alice, round {round}"), copy(&alice)));
        out.push((format!("bob, round {round}"), copy(&bob)));
    }
    out
}

fn copy(s: &Session) -> Session {
    Session::from_bytes(&s.to_bytes()).unwrap()
}

#[test]
fn sessions_show_none_of_their_keys() {
    let all = sessions();
    let mut skipped_seen = 0;
    for (what, session) in &all {
        let record = session.to_bytes();
        let view = RecordView::parse(&record);
        skipped_seen += view.skipped.len();
        let secrets = view.secrets();
        assert!(secrets.len() >= 2, "{what}");
        let refs: Vec<&[u8]> = secrets.iter().map(|s| &s[..]).collect();
        check(what, session, &refs);
        // The record itself prints redacted, whole.
        check(&format!("{what}: record"), &record, &[&record]);
    }
    assert!(skipped_seen > 0, "no session with skipped keys was checked");
}

#[test]
fn inbound_sessions_show_neither_keys_nor_plaintext() {
    let mut rng = rng(1130);
    let keys = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    for choice in BundleChoice::ALL {
        let mut a = Session::initiate(
            &mut rng,
            &alice,
            &keys.verified_bundle(choice),
            SessionConfig::default(),
        )
        .unwrap();
        let secret_text = b"the vault code is 7341-0029-5586, do not forward";
        let first = a.encrypt(&mut rng, secret_text).unwrap();
        let inbound = keys
            .respond_bytes(&first, SessionConfig::default())
            .unwrap();
        assert_eq!(inbound.plaintext, secret_text);
        let record = inbound.session.to_bytes();
        let secrets = RecordView::parse(&record).secrets();
        let mut refs: Vec<&[u8]> = secrets.iter().map(|s| &s[..]).collect();
        refs.push(secret_text);
        check("InboundSession", &inbound, &refs);
        for d in debug_of(&inbound) {
            assert!(!d.contains("vault"), "plaintext shown: {d}");
        }
    }
}

#[test]
fn secret_bytes_print_redacted() {
    let mut rng = rng(1140);
    let identity = IdentityKeyPair::generate(&mut rng);
    let sk: SecretBytes = identity.to_secret_bytes();
    check("SecretBytes (identity)", &sk, &[&sk]);
    for (what, session) in sessions() {
        let record: SecretBytes = session.to_bytes();
        check(&format!("SecretBytes ({what})"), &record, &[&record]);
        assert_eq!(
            format!("{record:?}"),
            format!("SecretBytes(<{} bytes redacted>)", record.len())
        );
    }
}

#[test]
fn sender_keys_do_not_print() {
    use kinseal::{DeviceAddress, GroupId, ReceivedSenderKey, SenderKey};
    let mut r = rng(40);
    let group = GroupId::generate(&mut r);
    let mut key = SenderKey::generate(&mut r, group, 1);
    let alice = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let record = key.to_secret_bytes();
    // §16.4: chain key at 51..83, signing secret at 83..115.
    check("SenderKey", &key, &[&record[51..83], &record[83..115]]);
    let dist = key.distribution();
    let dist_bytes = dist.to_secret_bytes();
    check("SenderKeyDistribution", &dist, &[&dist_bytes[51..83]]);
    let mut rx = ReceivedSenderKey::from_distribution(&dist, &alice);
    let _skipped = key.encrypt(&alice, b"0").unwrap();
    let m1 = key.encrypt(&alice, b"1").unwrap();
    rx.decrypt(&alice, &m1).unwrap();
    let rec = rx.to_secret_bytes();
    // Chain key at 55..87; the one skipped seed is the record's last 32 bytes.
    check(
        "ReceivedSenderKey",
        &rx,
        &[&rec[55..87], &rec[rec.len() - 32..]],
    );
    check("SecretBytes", &rec, &[&rec[55..87]]);
}
