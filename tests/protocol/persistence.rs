//! Session persistence: a session survives `to_bytes`/`from_bytes` at any
//! point of a conversation, behaving exactly as one that was never
//! serialized; and `Session::from_bytes` never panics on garbage, truncated
//! or flipped records.

use crate::common;

use chacha20::ChaCha20Rng;
use common::*;
use kinseal::{IdentityKeyPair, Session, SessionConfig};
use rand_core::Rng;

/// Replaces a session by its restored record, checking the record
/// round-trips byte for byte.
fn reload(session: &mut Session) {
    let bytes = snapshot(session);
    let restored = Session::from_bytes(&bytes).unwrap();
    assert_eq!(snapshot(&restored), bytes);
    *session = restored;
}

/// Delivers to both copies: the same result, and the right plaintext.
fn deliver_both(a: &mut Session, b: &mut Session, bytes: &[u8], pt: &[u8], step: usize) {
    let ra = a.decrypt(bytes);
    let rb = b.decrypt(bytes);
    assert_eq!(ra, rb, "step {step}");
    if let Ok(got) = ra {
        assert_eq!(got, pt, "step {step}");
    }
}

/// Two copies of one conversation, driven by identical RNGs: `a` is
/// serialized and restored after every step, `b` never is. They must
/// produce the same bytes and the same records throughout.
#[test]
fn a_session_restored_after_every_step_behaves_as_one_never_serialized() {
    let mut setup = rng(400);
    let bob = Bob::new(&mut setup);
    let alice_identity = IdentityKeyPair::generate(&mut setup);
    let bundle = bob.verified_bundle(BundleChoice::FULL);
    let config = SessionConfig::default()
        .with_max_skipped_keys(40)
        .unwrap()
        .with_max_old_chains(3)
        .unwrap();

    let mut rng_a = rng(401);
    let mut rng_b = rng(401);
    let mut alice_a =
        Session::initiate(&mut rng_a, &alice_identity, &bundle, config.clone()).unwrap();
    let mut alice_b =
        Session::initiate(&mut rng_b, &alice_identity, &bundle, config.clone()).unwrap();
    assert_eq!(snapshot(&alice_a), snapshot(&alice_b));
    reload(&mut alice_a);
    let first_a = alice_a.encrypt(&mut rng_a, b"first").unwrap();
    let first_b = alice_b.encrypt(&mut rng_b, b"first").unwrap();
    assert_eq!(first_a, first_b);
    reload(&mut alice_a);
    let mut bob_a = bob.respond_bytes(&first_a, config.clone()).unwrap().session;
    let mut bob_b = bob.respond_bytes(&first_b, config).unwrap().session;
    // The responder before it has sent anything.
    reload(&mut bob_a);

    let mut script = rng(402);
    let mut held: Vec<(Side, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut sent = 0usize;
    for step in 0..240 {
        let action = below(&mut script, 10);
        if action < 6 || held.is_empty() {
            // Send; then deliver now, hold back, or lose.
            let from = if below(&mut script, 2) == 0 {
                Side::Alice
            } else {
                Side::Bob
            };
            let pt = plaintext(sent);
            sent += 1;
            let (ca, cb) = match from {
                Side::Alice => (
                    alice_a.encrypt(&mut rng_a, &pt).unwrap(),
                    alice_b.encrypt(&mut rng_b, &pt).unwrap(),
                ),
                Side::Bob => (
                    bob_a.encrypt(&mut rng_a, &pt).unwrap(),
                    bob_b.encrypt(&mut rng_b, &pt).unwrap(),
                ),
            };
            assert_eq!(
                ca, cb,
                "step {step}: the restored session encrypted differently"
            );
            match below(&mut script, 6) {
                0 => {}                                     // lost
                1 | 2 => held.push((from.other(), ca, pt)), // late
                _ => match from.other() {
                    Side::Alice => deliver_both(&mut alice_a, &mut alice_b, &ca, &pt, step),
                    Side::Bob => deliver_both(&mut bob_a, &mut bob_b, &ca, &pt, step),
                },
            }
        } else {
            // Deliver a held message, out of order, and sometimes keep a
            // copy to deliver again.
            let i = below(&mut script, held.len());
            let (to, bytes, pt) = if below(&mut script, 5) == 0 {
                held[i].clone()
            } else {
                held.remove(i)
            };
            match to {
                Side::Alice => deliver_both(&mut alice_a, &mut alice_b, &bytes, &pt, step),
                Side::Bob => deliver_both(&mut bob_a, &mut bob_b, &bytes, &pt, step),
            }
        }
        reload(&mut alice_a);
        reload(&mut bob_a);
        assert_eq!(snapshot(&alice_a), snapshot(&alice_b), "step {step}");
        assert_eq!(snapshot(&bob_a), snapshot(&bob_b), "step {step}");
    }
    assert!(!alice_a.sends_prekey_messages());
}

#[test]
fn a_conversation_continues_across_restores_on_both_sides() {
    let mut rng = rng(403);
    let (_bob, p) = pair(&mut rng);
    let mut c = Conversation::new(p);
    let mut late = Vec::new();
    for i in 0..120 {
        let from = if below(&mut rng, 2) == 0 {
            Side::Alice
        } else {
            Side::Bob
        };
        let m = c.send(&mut rng, from);
        reload(&mut c.alice);
        reload(&mut c.bob);
        if i % 7 == 3 {
            late.push(m);
        } else {
            c.deliver(&m);
        }
        reload(&mut c.alice);
        reload(&mut c.bob);
        if i % 20 == 19 {
            for m in late.drain(..).rev() {
                c.deliver(&m);
                reload(&mut c.alice);
                reload(&mut c.bob);
                c.redeliver(&m);
            }
        }
    }
}

/// Records in the interesting states: an initiator with setup data, a
/// responder that has not sent, and sessions with several chains and
/// skipped keys; with a message each can decrypt next.
fn sample_records() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rng = rng(410);
    let (_bob, p) = pair(&mut rng);
    let mut c = Conversation::new(p);
    let mut out = Vec::new();
    let to_bob = c.send(&mut rng, Side::Alice);
    out.push((snapshot(&c.bob), to_bob.bytes.clone()));
    c.deliver(&to_bob);
    let to_alice = c.send(&mut rng, Side::Bob);
    out.push((snapshot(&c.alice), to_alice.bytes.clone()));
    c.deliver(&to_alice);
    for from in [Side::Alice, Side::Bob, Side::Alice, Side::Bob] {
        let _lost = c.send(&mut rng, from);
        let m = c.send(&mut rng, from);
        c.deliver(&m);
    }
    let to_bob = c.send(&mut rng, Side::Alice);
    let to_alice = c.send(&mut rng, Side::Bob);
    assert!(c.bob.stored_skipped_keys() > 0 && c.alice.stored_skipped_keys() > 0);
    out.push((snapshot(&c.bob), to_bob.bytes));
    out.push((snapshot(&c.alice), to_alice.bytes));
    out
}

/// Whatever `Session::from_bytes` accepted must be a well-behaved session:
/// its record round-trips, and encrypting and decrypting return results
/// (no panic), with failed decryptions changing nothing.
fn behaves(bytes: &[u8], next: &[u8], rng: &mut ChaCha20Rng) -> bool {
    let Ok(mut s) = Session::from_bytes(bytes) else {
        return false;
    };
    assert_eq!(snapshot(&s), bytes);
    let before = snapshot(&s);
    if s.decrypt(next).is_err() {
        assert_eq!(snapshot(&s), before);
    }
    let _ = s.encrypt(rng, b"after");
    let _ = Session::from_bytes(&snapshot(&s)).unwrap();
    true
}

#[test]
fn from_bytes_on_every_flipped_byte_of_a_record_errors_or_behaves() {
    let mut rng = rng(411);
    for (record, next) in sample_records() {
        assert!(behaves(&record, &next, &mut rng));
        let mut accepted = 0;
        for i in 0..record.len() {
            // Presence flags and small counters are 0 or 1: toggle those;
            // elsewhere cycle through the bit positions.
            let mask = if record[i] <= 1 { 0x01 } else { 1u8 << (i % 8) };
            let mut bad = record.clone();
            bad[i] ^= mask;
            if behaves(&bad, &next, &mut rng) {
                accepted += 1;
            }
        }
        // Secrets and counters carry no redundancy, so many flips decode.
        assert!(accepted > 0);
    }
}

#[test]
fn from_bytes_on_truncated_records_and_garbage_never_panics() {
    let mut rng = rng(412);
    for (record, next) in sample_records() {
        for len in 0..record.len() {
            assert!(Session::from_bytes(&record[..len]).is_err());
        }
        // Random tails after a valid prefix, at several cut points.
        for cut in [3usize, 4, 36, 200, record.len() / 2, record.len() - 1] {
            for _ in 0..20 {
                let mut bad = record[..cut].to_vec();
                let extra = below(&mut rng, 600);
                let start = bad.len();
                bad.resize(start + extra, 0);
                rng.fill_bytes(&mut bad[start..]);
                let _ = behaves(&bad, &next, &mut rng);
            }
        }
    }
    for _ in 0..500 {
        let len = below(&mut rng, 2000);
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        if len > 3 && below(&mut rng, 2) == 0 {
            bytes[..3].copy_from_slice(&[1, 0x10, 1]);
        }
        assert!(Session::from_bytes(&bytes).is_err());
    }
}
