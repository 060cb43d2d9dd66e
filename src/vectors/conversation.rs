//! `conversation.json`: scripted conversations with loss, reordering,
//! duplicates and bound violations, every message's keys and bytes, every
//! delivery's outcome, and session states at checkpoints.

use chacha20::ChaCha20Rng;
use serde_json::{Value, json};
use x25519_dalek::StaticSecret;

use super::handshake::{self, Case};
use super::{hex, seeded};
use crate::crypto::{aead, dh, kdf, labels};
use crate::error::{AccountError, DecodeError, Error, ProtocolError};
use crate::ratchet::{OurSide, RootKey};
use crate::session::{Padding, Session, SessionConfig};
use crate::wire::TAG_LEN;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

#[derive(Clone, Copy)]
enum Party {
    Alice,
    Bob,
}

enum Step {
    /// The party sends the text.
    Send(Party, &'static str),
    /// The party sends this many bytes of a fixed pattern.
    SendLen(Party, usize),
    /// The message with this number (0 = the handshake's first message) is
    /// delivered to its recipient.
    Deliver(usize),
    /// Both parties' session states are captured.
    Snapshot,
    /// The party's state is saved (no event).
    Save(Party),
    /// The party's state is replaced by its last saved copy, modelling a
    /// device restored from an old backup.
    Restore(Party),
}

use Party::{Alice, Bob};
use Step::{Deliver, Restore, Save, Send, SendLen, Snapshot};

/// The name of an error kind, as the vectors spell it.
pub(super) fn error_name(e: &Error) -> &'static str {
    match e {
        Error::Decode(d) => match d {
            DecodeError::UnsupportedVersion { .. } => "UnsupportedVersion",
            DecodeError::UnsupportedSuite { .. } => "UnsupportedSuite",
            DecodeError::UnexpectedType { .. } => "UnexpectedType",
            DecodeError::Truncated { .. } => "Truncated",
            DecodeError::TrailingBytes { .. } => "TrailingBytes",
            DecodeError::LengthOutOfRange { .. } => "LengthOutOfRange",
            DecodeError::InvalidField { .. } => "InvalidField",
            DecodeError::InvalidKey { .. } => "InvalidKey",
        },
        Error::Protocol(p) => match p {
            ProtocolError::InvalidSignature { .. } => "InvalidSignature",
            ProtocolError::NonContributoryKey => "NonContributoryKey",
            ProtocolError::Duplicate { .. } => "Duplicate",
            ProtocolError::MessageKeyExpired { .. } => "MessageKeyExpired",
            ProtocolError::TooFarAhead { .. } => "TooFarAhead",
            ProtocolError::UnexpectedPreKeyMessage => "UnexpectedPreKeyMessage",
            ProtocolError::UnexpectedRatchetKey => "UnexpectedRatchetKey",
            ProtocolError::ChainExhausted => "ChainExhausted",
            ProtocolError::InvalidPadding => "InvalidPadding",
            ProtocolError::SafetyNumberVersionMismatch { .. } => "SafetyNumberVersionMismatch",
        },
        Error::Account(a) => match a {
            AccountError::UnknownPreKey { .. } => "UnknownPreKey",
            AccountError::ReplayedHandshake => "ReplayedHandshake",
            AccountError::NoSessionForMessage => "NoSession",
            _ => "Account",
        },
        Error::Address(_) => "Address",
        Error::Misuse(_) => "Misuse",
        Error::DecryptionFailed => "DecryptionFailed",
        Error::Upload(_) => "Upload",
        Error::Directory(_) => "Directory",
        Error::Storage(_) => "Storage",
        Error::Trust(_) => "Trust",
        Error::Group(g) => match g {
            crate::GroupError::WrongGroup => "WrongGroup",
            crate::GroupError::WrongEpoch { .. } => "WrongEpoch",
            crate::GroupError::UnknownSenderKey { .. } => "UnknownSenderKey",
            crate::GroupError::WrongSender => "WrongSender",
            crate::GroupError::Duplicate { .. } => "GroupDuplicate",
            crate::GroupError::MessageKeyExpired { .. } => "GroupMessageKeyExpired",
            crate::GroupError::JumpTooFar { .. } => "JumpTooFar",
            crate::GroupError::StaleChange { .. } => "StaleChange",
            crate::GroupError::WrongBase { .. } => "WrongBase",
            crate::GroupError::NotAnAdmin => "NotAnAdmin",
            crate::GroupError::AlreadyMember { .. } => "AlreadyMember",
            crate::GroupError::NotAMember { .. } => "NotAMember",
            crate::GroupError::RoleUnchanged { .. } => "RoleUnchanged",
            crate::GroupError::NoAdmin => "NoAdmin",
            crate::GroupError::TooManyMembers { .. } => "TooManyMembers",
            crate::GroupError::OpCount { .. } => "OpCount",
            crate::GroupError::LostToConcurrentChange => "LostToConcurrentChange",
            crate::GroupError::InvalidGenesis => "InvalidGenesis",
            crate::GroupError::EpochExhausted => "EpochExhausted",
        },
        Error::DeviceList(d) => match d {
            crate::DeviceListError::UserKeyChanged => "UserKeyChanged",
            crate::DeviceListError::AddressMismatch => "AddressMismatch",
            crate::DeviceListError::Rollback { .. } => "Rollback",
            crate::DeviceListError::Fork { .. } => "Fork",
            crate::DeviceListError::Gap { .. } => "Gap",
        },
        Error::Link(l) => match l {
            crate::LinkError::UserKeyMismatch => "UserKeyMismatch",
            crate::LinkError::DeviceNotListed { .. } => "DeviceNotListed",
            crate::LinkError::DeviceKeyMismatch { .. } => "DeviceKeyMismatch",
        },
        Error::AccountLink(a) => match a {
            crate::AccountLinkError::OtherLink => "OtherLink",
            crate::AccountLinkError::NotLinked => "NotLinked",
        },
    }
}

pub(super) fn conversation_file() -> Value {
    let mut rng = seeded("conversation");
    // Message numbers: 0 is the handshake's first message; each Send adds one.
    let default_script = [
        Send(Alice, "second, still a PreKeyMessage"), // 1
        Send(Alice, "third, still a PreKeyMessage"),  // 2
        Deliver(2),
        Deliver(1),
        Deliver(1),               // Duplicate
        Send(Bob, "reply one"),   // 3
        Send(Bob, "reply two"),   // 4
        Send(Bob, "reply three"), // 5
        Deliver(5),
        Deliver(3),
        Snapshot,
        Send(Alice, "new ratchet key"),         // 6
        Send(Alice, "same chain"),              // 7
        Send(Bob, "Bob's old chain continues"), // 8
        Deliver(7),
        Deliver(6),
        Deliver(8),
        Deliver(4),
        Deliver(4),                  // Duplicate
        Send(Bob, "Bob ratchets"),   // 9
        Send(Alice, "lost forever"), // 10, never delivered
        Send(Alice, "after a loss"), // 11
        Deliver(9),
        Deliver(11),
        Snapshot,
        Send(Bob, "round trip"), // 12
        Send(Alice, "and back"), // 13
        Deliver(12),
        Deliver(13),
        Deliver(0), // Duplicate of the first PreKeyMessage
        Snapshot,
    ];
    let small = SessionConfig::default()
        .with_max_forward_jump(8)
        .and_then(|c| c.with_max_skipped_keys(4))
        .and_then(|c| c.with_max_old_chains(1))
        .unwrap();
    let small_script = [
        Send(Alice, "a1"), // 1
        Send(Alice, "a2"),
        Send(Alice, "a3"),
        Send(Alice, "a4"),
        Send(Alice, "a5"),
        Send(Alice, "a6"),
        Send(Alice, "a7"),
        Send(Alice, "a8"),
        Send(Alice, "a9"),
        Send(Alice, "a10"), // 10
        Deliver(10),        // TooFarAhead: a jump of 9
        Deliver(8),         // skips 1..7, keeps 4..7
        Deliver(2),         // MessageKeyExpired
        Deliver(5),
        Deliver(5),  // Duplicate
        Deliver(10), // now a jump of 1
        Snapshot,
        Send(Bob, "b1"), // 11
        Deliver(11),
        Send(Alice, "a11"), // 12, new ratchet key
        Send(Bob, "b2"),    // 13
        Deliver(12),
        Deliver(13),
        Send(Alice, "a12"), // 14
        Send(Bob, "b3"),    // 15, new ratchet key
        Deliver(14),
        Deliver(15),
        Deliver(7), // from the oldest chain Bob still keeps
        Deliver(4),
        Snapshot,
        Send(Alice, "a13"), // 16, new ratchet key: Bob drops the first chain
        Deliver(16),
        Deliver(6), // its chain is gone: treated as a new key, fails
        Snapshot,
    ];
    let catch_up_script = [
        Send(Bob, "b1"), // 1: Bob's first chain, index 0
        Send(Bob, "b2"),
        Send(Bob, "b3"),
        Send(Bob, "b4"), // 4: index 3
        Deliver(1),
        Send(Alice, "a1"), // 5: Alice's new ratchet key
        Deliver(5),
        Send(Bob, "b5"), // 6: Bob's second chain, previous length 4
        Deliver(6),      // Alice catches up: keeps indices 1..3 of the first chain
        Deliver(3),
        Send(Bob, "b6"), // 7: index 1
        Send(Bob, "b7"),
        Send(Bob, "b8"),
        Send(Bob, "b9"),
        Send(Bob, "b10"),
        Send(Bob, "b11"),
        Send(Bob, "b12"), // 13: index 7
        Deliver(13),      // keeps 3..6, passes 1..2; evicts the first chain's keys
        Deliver(2),       // MessageKeyExpired: evicted
        Deliver(4),       // MessageKeyExpired: evicted
        Deliver(8),       // MessageKeyExpired: passed over
        Deliver(9),
        Deliver(9), // Duplicate
        Snapshot,
        Save(Bob),
        Send(Bob, "b13"), // 14: index 8
        Deliver(14),
        Send(Alice, "a2"), // 15
        Deliver(15),
        Send(Bob, "b14"), // 16: Bob's third chain
        Deliver(16),
        Restore(Bob),
        Send(Bob, "rolled back: index 8 again"), // 17
        Send(Bob, "rolled back: index 9"),       // 18
        Deliver(17),                             // Duplicate: Alice used index 8
        Deliver(18),                             // past the end of an old chain: DecryptionFailed
        Send(Alice, "c0"),                       // 19: Alice's third chain, index 0
        Send(Alice, "c1"),
        Send(Alice, "c2"),
        Send(Alice, "c3"),
        Send(Alice, "c4"),
        Send(Alice, "c5"),
        Send(Alice, "c6"),
        Send(Alice, "c7"),
        Send(Alice, "c8"),
        Send(Alice, "c9"), // 28: index 9
        Deliver(28),       // a new ratchet key, 9 ahead: TooFarAhead
        Deliver(20),       // the restored Bob lost his third chain: DecryptionFailed
        Snapshot,
    ];
    // Each side pads by its own policy, and each decrypts the other's.
    let padding_script = [
        Send(Bob, ""),       // 1: an empty plaintext
        SendLen(Bob, 31),    // 2
        SendLen(Bob, 32),    // 3: one byte past a 32-byte block
        SendLen(Bob, 1_000), // 4: above the AEAD's short-message switch
        Deliver(4),
        Deliver(1),
        Deliver(3),
        Deliver(2),
        Send(Alice, ""),       // 5
        SendLen(Alice, 159),   // 6
        SendLen(Alice, 5_000), // 7
        Deliver(6),
        Deliver(7),
        Deliver(5),
        Snapshot,
    ];
    let conversations = vec![
        script(
            &mut rng,
            Case::new("default bounds: loss, reordering, duplicates", true, false),
            &default_script,
        ),
        script(
            &mut rng,
            Case {
                config: small.clone(),
                ..Case::new(
                    "small bounds (jump 8, 4 skipped keys, 1 old chain): too far ahead, \
                     eviction, expiry",
                    false,
                    true,
                )
            },
            &small_script,
        ),
        script(
            &mut rng,
            Case {
                config: small.clone(),
                ..Case::new(
                    "small bounds: catching up a previous chain, eviction across chains, \
                     a sender restored from an old backup, a new chain too far ahead",
                    true,
                    false,
                )
            },
            &catch_up_script,
        ),
        script(
            &mut rng,
            Case {
                config: SessionConfig::default().with_padding(Padding::NONE),
                responder_padding: Some(Padding::blocks(32).unwrap()),
                ..Case::new(
                    "padding (PROTOCOL.md 7.6): the initiator sends unpadded (block 1, no \
                     Padme), the responder in 32-byte blocks; empty, block-edge and long \
                     plaintexts",
                    true,
                    false,
                )
            },
            &padding_script,
        ),
    ];
    json!({
        "description": "Scripted conversations continuing from a handshake (same schema as \
                        handshake.json cases). events lists, in order, every send, delivery, \
                        record checkpoint and restore. messages[i] is the i-th message sent \
                        (0 = the handshake's first message). A delivery's outcome is the \
                        plaintext or an error kind; failed deliveries leave the recipient's \
                        state unchanged.",
        "conversations": conversations,
    })
}

struct Sent {
    from: Party,
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
}

fn party(p: Party) -> &'static str {
    match p {
        Alice => "alice",
        Bob => "bob",
    }
}

fn script(rng: &mut ChaCha20Rng, case: Case, steps: &[Step]) -> Value {
    let first = b"first";
    let setup = handshake::run(rng, &case, first);
    let (mut alice, mut bob) = (setup.alice, setup.bob);
    let first_bytes = hex_decode(setup.json["prekey_message"].as_str().unwrap_or_default());
    let mut sent = vec![Sent {
        from: Alice,
        bytes: first_bytes,
        plaintext: first.to_vec(),
    }];
    let mut messages = vec![json!({"from": "alice", "plaintext": hex(first), "note": "handshake"})];
    let mut events = vec![
        json!({"event": "send", "message": 0}),
        json!({"event": "deliver", "message": 0, "to": "bob", "outcome": "ok", "plaintext": hex(first)}),
    ];
    let mut saved = Vec::new();
    for step in steps {
        match step {
            Send(from, _) | SendLen(from, _) => {
                let plaintext = match step {
                    SendLen(_, n) => (0..*n).map(|i| (i % 251) as u8).collect(),
                    Send(_, text) => text.as_bytes().to_vec(),
                    _ => Vec::new(),
                };
                let session = match from {
                    Alice => &mut alice,
                    Bob => &mut bob,
                };
                let (value, bytes) = send(rng, session, &plaintext, *from);
                events.push(json!({"event": "send", "message": messages.len()}));
                messages.push(value);
                sent.push(Sent {
                    from: *from,
                    bytes,
                    plaintext,
                });
            }
            Deliver(n) => {
                let m = &sent[*n];
                let (to, session) = match m.from {
                    Alice => (Bob, &mut bob),
                    Bob => (Alice, &mut alice),
                };
                let before = session.to_bytes();
                let outcome = match session.decrypt(&m.bytes) {
                    Ok(p) => {
                        assert_eq!(p, m.plaintext);
                        json!({"event": "deliver", "message": n, "to": party(to), "outcome": "ok", "plaintext": hex(&p)})
                    }
                    Err(e) => {
                        assert_eq!(
                            session.to_bytes(),
                            before,
                            "a failed delivery changed state"
                        );
                        json!({"event": "deliver", "message": n, "to": party(to), "outcome": error_name(&e)})
                    }
                };
                events.push(outcome);
            }
            Snapshot => events.push(json!({
                "event": "records",
                "alice": hex(&alice.to_bytes()),
                "bob": hex(&bob.to_bytes()),
            })),
            Save(who) => saved.push((
                *who,
                match who {
                    Alice => alice.to_bytes(),
                    Bob => bob.to_bytes(),
                },
            )),
            Restore(who) => {
                let record = saved
                    .iter()
                    .rev()
                    .find(|(p, _)| party(*p) == party(*who))
                    .map(|(_, r)| r.clone())
                    .unwrap();
                let restored = Session::from_bytes(&record).unwrap();
                match who {
                    Alice => alice = restored,
                    Bob => bob = restored,
                }
                events.push(
                    json!({"event": "restore", "party": party(*who), "record": hex(&record)}),
                );
            }
        }
    }
    json!({
        "description": case.description,
        "bounds": {
            "max_forward_jump": case.config.max_forward_jump(),
            "max_skipped_keys": case.config.max_skipped_keys(),
            "max_old_chains": case.config.max_old_chains(),
        },
        "handshake": setup.json,
        "messages": messages,
        "events": events,
    })
}

/// Encrypts, and recomputes from the spec the ratchet step (if any) and the
/// message key.
fn send(
    rng: &mut ChaCha20Rng,
    session: &mut Session,
    plaintext: &[u8],
    from: Party,
) -> (Value, Vec<u8>) {
    let r = session.ratchet();
    let (new_ratchet, chain_key, header_key) = match r.side() {
        OurSide::Sending { chain, .. } => (
            None,
            Zeroizing::new(*chain.chain().bytes()),
            *chain.header_key().bytes(),
        ),
        OurSide::PeerStepped { .. } | OurSide::ResponderFresh => {
            // PROTOCOL.md 7.3 step 1, with the same draw the library makes.
            let secret = StaticSecret::random_from_rng(&mut super::fork(rng));
            let theirs = r
                .current_peer_key()
                .map(|k| *k.as_bytes())
                .unwrap_or_default();
            let shared = dh::agree(&secret, &theirs).unwrap();
            let (root, chain, next_header_key) =
                RootKey::new(Zeroizing::new(*r.root().bytes())).step(&shared);
            // The new chain's header key is the next header key held.
            (
                Some((secret.to_bytes(), root, next_header_key)),
                chain,
                *r.next_header_key().bytes(),
            )
        }
    };
    let (seed, _) = kdf::chain_step(&chain_key);
    let key = kdf::message_key(&seed).to_okm();
    let bytes = session.encrypt(rng, plaintext).unwrap();
    let r = session.ratchet();
    let OurSide::Sending { ours, .. } = r.side() else {
        panic!("a message was just sent");
    };
    if let Some((private, root, next_header_key)) = &new_ratchet {
        assert_eq!(&ours.secret().to_bytes(), private);
        assert_eq!(root.bytes(), r.root().bytes());
        assert_eq!(next_header_key.bytes(), r.next_header_key().bytes());
    }
    // The embedded or plain Message is the end of the bytes (PROTOCOL.md
    // 4.2): its header tag is HMAC(hk, label ‖ AD_s ‖ header[0..50])[0..16].
    let padded_len = session.padding().padded_len(plaintext.len());
    let message = &bytes[bytes.len() - (66 + padded_len + TAG_LEN)..];
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&header_key).unwrap();
    mac.update(labels::HEADER_TAG);
    mac.update(session.session_ad());
    mac.update(&message[..50]);
    let header_tag = mac.finalize().into_bytes();
    assert_eq!(&header_tag[..16], &message[50..66]);
    // Inside the AEAD (AD = AD_s ‖ header): the plaintext, 0x80, zeros
    // (PROTOCOL.md 7.6).
    let (body, tag) = message[66..].split_at(padded_len);
    let mut padded = vec![0u8; padded_len];
    aead::decrypt(
        &aead::AeadKey::from_okm(&key),
        &[&session.session_ad()[..], &message[..66]].concat(),
        body,
        &tag.try_into().unwrap(),
        &mut padded,
    )
    .unwrap();
    let mut want = plaintext.to_vec();
    want.push(0x80);
    want.resize(padded_len, 0);
    assert_eq!(padded, want);
    let value = json!({
        "from": party(from),
        "plaintext": hex(plaintext),
        "new_ratchet_private": new_ratchet.as_ref().map_or(Value::Null, |(p, _, _)| Value::String(hex(p))),
        "next_header_key": new_ratchet.as_ref().map_or(Value::Null, |(_, _, h)| Value::String(hex(h.bytes()))),
        "header_key": hex(&header_key),
        "header_tag": hex(&header_tag[..16]),
        "ratchet_public": hex(ours.public().as_bytes()),
        "chain_key": hex(&chain_key[..]),
        "message_key_seed": hex(&seed[..]),
        "message_key": hex(&key[..32]),
        "nonce": hex(&key[32..]),
        "padded_length": padded_len,
        "bytes": hex(&bytes),
    });
    (value, bytes)
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}
