//! `addressing.json`: user and device addresses, prekey counts and
//! envelopes (PROTOCOL.md §4.5–§4.7), valid encodings and inputs that
//! MUST be rejected, each with the error kind kinseal reports; and the
//! session context that binds two addresses (§6.6).

use serde_json::{Value, json};

use super::conversation::error_name;
use super::handshake::{self, Case};
use super::{hex, seeded};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::{DecodeError, Error, WireType};
use crate::handshake::session_ad;
use crate::keys::IdentityKeyPair;
use crate::keys::PreKeyCounts;
use crate::limits::{
    MAX_ACCOUNT_CONTEXT_LEN, MAX_APP_ID_LEN, MAX_MESSAGE_LEN, MAX_USER_ID_LEN, MIN_MESSAGE_LEN,
};
use crate::message::{Envelope, IncomingMessage};
use crate::session::SessionConfig;
use crate::wire::{
    MessageKind, PREKEY_COUNTS_LEN, TYPE_DEVICE_ADDRESS, TYPE_ENVELOPE, TYPE_PREKEY_COUNTS,
    TYPE_USER_ADDRESS,
};

fn user_json(a: &UserAddress) -> Value {
    json!({"app_id": hex(a.app_id()), "user_id": hex(a.user_id())})
}

fn device_json(a: &DeviceAddress) -> Value {
    json!({"app_id": hex(a.app_id()), "user_id": hex(a.user_id()), "device_id": a.device_id()})
}

fn kind_name(k: MessageKind) -> &'static str {
    match k {
        MessageKind::Message => "Message",
        MessageKind::PreKeyMessage => "PreKeyMessage",
    }
}

/// The wire type a decode error names, where it names one.
fn wire_type(e: &Error) -> Option<WireType> {
    match e {
        Error::Decode(
            DecodeError::Truncated { wire_type, .. }
            | DecodeError::TrailingBytes { wire_type, .. }
            | DecodeError::LengthOutOfRange { wire_type, .. }
            | DecodeError::InvalidField { wire_type, .. },
        ) => Some(*wire_type),
        Error::Decode(DecodeError::UnexpectedType { expected, .. }) => Some(*expected),
        _ => None,
    }
}

/// One negative case: decoding `input` as `kind` fails, in `part` (the
/// encoding itself, or for an envelope, `"message"`: the message in it).
fn case(kind: &str, part: &str, reason: &str, input: &[u8]) -> Value {
    let result = match kind {
        "user_address" => UserAddress::from_bytes(input).map(|_| ()),
        "device_address" => DeviceAddress::from_bytes(input).map(|_| ()),
        "prekey_counts" => PreKeyCounts::from_bytes(input).map(|_| ()),
        "envelope" => Envelope::from_bytes(input).map(|_| ()),
        _ => panic!("unknown kind {kind}"),
    };
    let Err(e) = result else {
        panic!("negative vector was accepted: {reason}");
    };
    let own = match kind {
        "user_address" => WireType::UserAddress,
        "device_address" => WireType::DeviceAddress,
        "prekey_counts" => WireType::PreKeyCounts,
        _ => WireType::Envelope,
    };
    if let Some(t) = wire_type(&e) {
        let in_message = matches!(t, WireType::Message | WireType::PreKeyMessage);
        assert_eq!(in_message, part == "message", "{reason}: {e:?}");
        assert!(in_message || t == own, "{reason}: {e:?}");
    }
    json!({"kind": kind, "part": part, "reason": reason, "input": hex(input), "error": error_name(&e)})
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

fn be32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap().to_be_bytes()
}

pub(super) fn addressing_file() -> Value {
    let mut rng = seeded("addressing");
    let setup = handshake::run(
        &mut rng,
        &Case::new("setup for addressing vectors", true, false),
        b"first",
    );
    let prekey_message = super::negative::unhex(&setup.json["prekey_message"]);
    let mut bob = setup.bob;
    let reply = bob.encrypt(&mut rng, b"reply").unwrap();

    let opaque: Vec<u8> = (0..=255u8).collect();
    let users = [
        UserAddress::new(b"chirp", b"alice").unwrap(),
        UserAddress::new(b"org.example.parley", b"bob@parley.example").unwrap(),
        UserAddress::new(b"a", b"\x00").unwrap(),
        UserAddress::new("caf\u{e9}".as_bytes(), b"+15550100").unwrap(),
        UserAddress::new(&[b'x'; MAX_APP_ID_LEN], &opaque[..MAX_USER_ID_LEN]).unwrap(),
    ];
    let devices = [
        users[0].device(1),
        users[1].device(0),
        users[2].device(u32::MAX),
        users[3].device(0x0102_0304),
        users[4].device(0x8000_0000),
    ];
    let user_cases: Vec<Value> = users
        .iter()
        .map(|a| {
            let bytes = a.to_bytes();
            assert_eq!(&UserAddress::from_bytes(&bytes).unwrap(), a);
            let mut v = user_json(a);
            v["encoding"] = json!(hex(&bytes));
            v
        })
        .collect();
    let device_cases: Vec<Value> = devices
        .iter()
        .map(|a| {
            let bytes = a.to_bytes();
            assert_eq!(&DeviceAddress::from_bytes(&bytes).unwrap(), a);
            let mut v = device_json(a);
            v["encoding"] = json!(hex(&bytes));
            v
        })
        .collect();
    let count_cases: Vec<Value> = [(0, 0), (9, 100), (5_000, 1_000), (u32::MAX as usize, 1)]
        .iter()
        .map(|&(one_time, kem)| {
            let c = PreKeyCounts::new(one_time, kem);
            let bytes = c.to_bytes();
            assert_eq!(PreKeyCounts::from_bytes(&bytes).unwrap(), c);
            json!({"one_time": one_time, "kem": kem, "encoding": hex(&bytes)})
        })
        .collect();

    // A Message whose ratchet key is not a canonical X25519 encoding: an
    // envelope checks structure only and carries it; the recipient's
    // decoding refuses it.
    let bad_key = edit(&reply, |b| b[2..34].fill(0xff));
    let envelopes = [
        (&devices[0], &devices[1], prekey_message.clone()),
        (&devices[1], &devices[0], reply.clone()),
        (&devices[4], &devices[2], reply.clone()),
        (&devices[3], &devices[3], bad_key),
    ];
    let envelope_cases: Vec<Value> = envelopes
        .iter()
        .map(|(from, to, message)| {
            let e = Envelope::new((*from).clone(), (*to).clone(), message.clone()).unwrap();
            let bytes = e.to_bytes();
            assert_eq!(Envelope::from_bytes(&bytes).unwrap(), e);
            let decoded = match e.decode_message() {
                Ok(IncomingMessage::Message(_) | IncomingMessage::PreKey(_)) => Value::Null,
                Err(err) => json!(error_name(&err)),
            };
            json!({
                "sender": device_json(from),
                "recipient": device_json(to),
                "message_kind": kind_name(e.message_kind()),
                "message": hex(message),
                "message_error": decoded,
                "encoding": hex(&bytes),
            })
        })
        .collect();

    let user = users[0].to_bytes(); // 01 50 05 "chirp" 0005 "alice"
    let device = devices[0].to_bytes();
    let counts = PreKeyCounts::new(9, 100).to_bytes();
    let env = Envelope::new(devices[1].clone(), devices[0].clone(), reply.clone())
        .unwrap()
        .to_bytes();
    let pk_env = Envelope::new(
        devices[0].clone(),
        devices[1].clone(),
        prekey_message.clone(),
    )
    .unwrap()
    .to_bytes();
    // Where things are in `env` and `pk_env`: the message starts after the
    // two embedded addresses and its length.
    let msg_at = |e: &[u8], m: &[u8]| e.len() - m.len();
    let (at, pk_at) = (msg_at(&env, &reply), msg_at(&pk_env, &prekey_message));
    let recipient_at = 2 + 1 + devices[1].app_id().len() + 2 + devices[1].user_id().len() + 4;
    let with_message = |m: &[u8]| [&env[..at - 4], &be32(m.len())[..], m].concat();
    let long_ids = |app: usize, user: usize| {
        let mut b = vec![1, TYPE_USER_ADDRESS, u8::try_from(app).unwrap()];
        b.resize(b.len() + app, b'a');
        b.extend_from_slice(&u16::try_from(user).unwrap().to_be_bytes());
        b.resize(b.len() + user, b'u');
        b
    };
    let cases = vec![
        case(
            "user_address",
            "self",
            "version 0x02",
            &edit(&user, |b| b[0] = 2),
        ),
        case(
            "user_address",
            "self",
            "a device address's type byte",
            &edit(&user, |b| b[1] = TYPE_DEVICE_ADDRESS),
        ),
        case("user_address", "self", "empty input", &[]),
        case(
            "user_address",
            "self",
            "app id length 0",
            &[1, TYPE_USER_ADDRESS, 0, 0, 1, b'u'],
        ),
        case(
            "user_address",
            "self",
            "app id length 65, checked before the bytes",
            &long_ids(65, 1),
        ),
        case("user_address", "self", "user id length 0", &long_ids(1, 0)),
        case(
            "user_address",
            "self",
            "user id length 257, checked before the bytes",
            &long_ids(1, 257),
        ),
        case(
            "user_address",
            "self",
            "user id shorter than its length",
            &user[..user.len() - 1],
        ),
        case(
            "user_address",
            "self",
            "a trailing byte",
            &[&user[..], &[0]].concat(),
        ),
        case(
            "device_address",
            "self",
            "device id cut to 3 bytes",
            &device[..device.len() - 1],
        ),
        case(
            "device_address",
            "self",
            "a trailing byte",
            &[&device[..], &[0]].concat(),
        ),
        case(
            "device_address",
            "self",
            "a user address's type byte",
            &edit(&device, |b| b[1] = TYPE_USER_ADDRESS),
        ),
        case(
            "device_address",
            "self",
            "app id length 255",
            &edit(&device, |b| b[2] = 0xff),
        ),
        case(
            "prekey_counts",
            "self",
            "9 bytes",
            &counts[..PREKEY_COUNTS_LEN - 1],
        ),
        case(
            "prekey_counts",
            "self",
            "11 bytes",
            &[&counts[..], &[0]].concat(),
        ),
        case(
            "prekey_counts",
            "self",
            "the upload's type byte",
            &edit(&counts, |b| b[1] = 0x20),
        ),
        case(
            "prekey_counts",
            "self",
            "version 0x00",
            &edit(&counts, |b| b[0] = 0),
        ),
        case(
            "envelope",
            "self",
            "version 0x02",
            &edit(&env, |b| b[0] = 2),
        ),
        case(
            "envelope",
            "self",
            "a bare Message, not an envelope",
            &reply,
        ),
        case(
            "envelope",
            "self",
            "recipient app id length 0",
            &edit(&env, |b| b[recipient_at] = 0),
        ),
        case(
            "envelope",
            "self",
            "recipient cut short",
            &env[..recipient_at + 3],
        ),
        case(
            "envelope",
            "self",
            "message length below MIN_MESSAGE_LEN",
            &[&env[..at - 4], &be32(MIN_MESSAGE_LEN - 1)[..]].concat(),
        ),
        case(
            "envelope",
            "self",
            "message length above MAX_MESSAGE_LEN",
            &[&env[..at - 4], &be32(MAX_MESSAGE_LEN + 1)[..]].concat(),
        ),
        case(
            "envelope",
            "self",
            "message shorter than its length",
            &env[..env.len() - 1],
        ),
        case(
            "envelope",
            "self",
            "a trailing byte after the message",
            &[&env[..], &[0]].concat(),
        ),
        case(
            "envelope",
            "message",
            "message of version 0x02",
            &edit(&env, |b| b[at] = 2),
        ),
        case(
            "envelope",
            "message",
            "message with a bundle's type byte",
            &edit(&env, |b| b[at + 1] = 0x03),
        ),
        case(
            "envelope",
            "message",
            "a Message with a byte past its ciphertext",
            &with_message(&[&reply[..], &[0]].concat()),
        ),
        case(
            "envelope",
            "message",
            "a Message's ciphertext length below its minimum",
            &edit(&env, |b| b[at + 46..at + 50].copy_from_slice(&be32(16))),
        ),
        case(
            "envelope",
            "message",
            "a PreKeyMessage with suite 0x02",
            &edit(&pk_env, |b| b[pk_at + 2] = 2),
        ),
        case(
            "envelope",
            "message",
            "a PreKeyMessage with one-time flag 0x02",
            &edit(&pk_env, |b| b[pk_at + 39] = 2),
        ),
    ];
    json!({
        "description": "Addresses, prekey counts and envelopes (PROTOCOL.md 4.5-4.7): valid \
                        encodings with their fields, and inputs that MUST be rejected with the \
                        error kind kinseal reports.",
        "type_bytes": {
            "user_address": TYPE_USER_ADDRESS,
            "device_address": TYPE_DEVICE_ADDRESS,
            "prekey_counts": TYPE_PREKEY_COUNTS,
            "envelope": TYPE_ENVELOPE,
        },
        "user_addresses": user_cases,
        "device_addresses": device_cases,
        "prekey_counts": count_cases,
        "envelopes": envelope_cases,
        "bound_contexts": bound_contexts(),
        "cases": cases,
    })
}

/// An account's session context (PROTOCOL.md §6.6) for a few pairs of
/// addresses and app contexts, and the session AD (§6.3) it gives under
/// two identity keys.
fn bound_contexts() -> Vec<Value> {
    let mut rng = seeded("bound contexts");
    let (ik_a, ik_b) = (
        IdentityKeyPair::generate(&mut rng),
        IdentityKeyPair::generate(&mut rng),
    );
    let alice = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let bob = DeviceAddress::new(b"org.example.parley", b"bob@parley.example", 7).unwrap();
    let long =
        DeviceAddress::new(&[b'a'; MAX_APP_ID_LEN], &[b'u'; MAX_USER_ID_LEN], u32::MAX).unwrap();
    let app_max = vec![0x5a; MAX_ACCOUNT_CONTEXT_LEN];
    let pairs: [(&str, &DeviceAddress, &DeviceAddress, &[u8]); 4] = [
        ("Alice starts with Bob", &alice, &bob, b""),
        ("Bob starts with Alice: the other order", &bob, &alice, b""),
        ("with an app context", &alice, &bob, b"chat v3"),
        (
            "both addresses and the app context at their bounds",
            &long,
            &long,
            &app_max,
        ),
    ];
    pairs
        .into_iter()
        .map(|(name, initiator, responder, app)| {
            let config = SessionConfig::default()
                .with_context(app)
                .unwrap()
                .with_bound_addresses(initiator, responder)
                .unwrap();
            let context = config.context();
            let ad = session_ad(ik_a.public_key(), ik_b.public_key(), context);
            json!({
                "name": name,
                "initiator": device_json(initiator),
                "responder": device_json(responder),
                "app_context": hex(app),
                "context": hex(context),
                "initiator_identity_key": hex(ik_a.public_key().as_bytes()),
                "responder_identity_key": hex(ik_b.public_key().as_bytes()),
                "session_ad": hex(&ad),
            })
        })
        .collect()
}
