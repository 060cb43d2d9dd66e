//! `provisioning.json`: device links with every secret and intermediate
//! (PROTOCOL.md §13), link codes that must be refused, and provisioning
//! messages that must be refused, each with the first failing check's kind.
//!
//! Every positive value is computed twice: by the library (`LinkRequest`,
//! `ProvisioningMessage::seal`, `LinkRequest::open`) and by hand from the
//! primitives (x25519-dalek, hkdf, chacha20poly1305), and the two must agree.

use chacha20::ChaCha20Rng;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_core::Rng;
use serde_json::{Value, json};
use x25519_dalek::{PublicKey, StaticSecret};

use super::conversation::error_name;
use super::{fork, hex, seeded};
use crate::address::UserAddress;
use crate::crypto::labels::{PROVISIONING, SIG_DEVICE_LIST};
use crate::keys::{
    DeviceList, IdentityKey, IdentityKeyPair, LinkCode, LinkRequest, ProvisioningMessage,
    UserIdentityKeyPair, VerifiedDeviceList,
};
use crate::limits::MAX_DEVICES_PER_USER;
use crate::wire::{TYPE_LINK_CODE, TYPE_PROVISIONING_MESSAGE, TYPE_PROVISIONING_PAYLOAD};

/// Seconds since the Unix epoch: 2026-01-01.
const T0: u64 = 1_767_225_600;

/// A link request with the RNG state it was drawn from, to draw it again
/// (a request is used up by opening) and to read its secrets.
struct Request {
    state: ChaCha20Rng,
    identity_secret: [u8; 32],
    ephemeral_secret: [u8; 32],
}

impl Request {
    fn new(rng: &mut ChaCha20Rng) -> Request {
        let state = fork(rng);
        let mut probe = fork(rng);
        let (mut identity_secret, mut ephemeral_secret) = ([0u8; 32], [0u8; 32]);
        probe.fill_bytes(&mut identity_secret);
        probe.fill_bytes(&mut ephemeral_secret);
        let request = LinkRequest::new(rng);
        assert_eq!(
            request.code().ephemeral_key(),
            PublicKey::from(&StaticSecret::from(ephemeral_secret)).as_bytes()
        );
        Request {
            state,
            identity_secret,
            ephemeral_secret,
        }
    }

    fn request(&self) -> LinkRequest {
        LinkRequest::new(&mut fork(&self.state))
    }

    fn code(&self) -> LinkCode {
        self.request().code()
    }
}

/// A message sealed by hand: `payload` under the key the schedule derives
/// from `e` and `info`, with `ad` as associated data, after the header
/// that names `e`'s public key and the payload's sealed length.
struct Sealed {
    e_pub: [u8; 32],
    shared: [u8; 32],
    okm: [u8; 44],
    header: Vec<u8>,
    parts: Parts,
    message: Vec<u8>,
}

fn seal_by_hand(
    e: &[u8; 32],
    code: &LinkCode,
    payload: &[u8],
    edit: &dyn Fn(&mut Parts),
) -> Sealed {
    let secret = StaticSecret::from(*e);
    let e_pub = PublicKey::from(&secret).to_bytes();
    let shared = secret
        .diffie_hellman(&PublicKey::from(*code.ephemeral_key()))
        .to_bytes();
    let mut header = vec![1, TYPE_PROVISIONING_MESSAGE, 1];
    header.extend_from_slice(&e_pub);
    header.extend_from_slice(&((payload.len() + 16) as u32).to_be_bytes());
    let mut parts = Parts {
        info: [PROVISIONING, &code.to_bytes(), &e_pub].concat(),
        ad: header.clone(),
    };
    edit(&mut parts);
    let mut okm = [0u8; 44];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[0u8; 32]), &shared)
        .expand(&parts.info, &mut okm)
        .unwrap();
    let mut body = payload.to_vec();
    let tag = ChaCha20Poly1305::new(okm[..32].try_into().unwrap())
        .encrypt_inout_detached(
            okm[32..].try_into().unwrap(),
            &parts.ad,
            InOutBuf::from(&mut body[..]),
        )
        .unwrap();
    let message = [&header[..], &body, &tag].concat();
    Sealed {
        e_pub,
        shared,
        okm,
        header,
        parts,
        message,
    }
}

/// What a hand-made seal may change: the HKDF info and the AD.
struct Parts {
    info: Vec<u8>,
    ad: Vec<u8>,
}

fn payload(user_secret: &[u8], device_id: u32, list: &[u8]) -> Vec<u8> {
    [
        &[1, TYPE_PROVISIONING_PAYLOAD][..],
        user_secret,
        &device_id.to_be_bytes(),
        list,
    ]
    .concat()
}

/// One link, every value of it.
#[allow(clippy::too_many_arguments)]
fn link_case(
    rng: &mut ChaCha20Rng,
    description: &str,
    request: &Request,
    user: &UserIdentityKeyPair,
    list: &VerifiedDeviceList,
    device_id: u32,
) -> Value {
    let code = request.code();
    let mut e = [0u8; 32];
    fork(rng).fill_bytes(&mut e);
    let message = ProvisioningMessage::seal(rng, &code, user, list, device_id).unwrap();
    let user_secret = user.to_secret_bytes();
    let p = payload(&user_secret, device_id, &list.to_bytes());
    let by_hand = seal_by_hand(&e, &code, &p, &|_| {});
    assert_eq!(message, by_hand.message);
    let q = StaticSecret::from(request.ephemeral_secret);
    assert_eq!(
        q.diffie_hellman(&PublicKey::from(by_hand.e_pub)).to_bytes(),
        by_hand.shared
    );
    let linked = request.request().open(&message).unwrap();
    assert_eq!(linked.device_list(), list);
    assert_eq!(linked.device_id(), device_id);
    assert_eq!(linked.user_identity().public_key(), user.public_key());
    let address = linked.device_address();
    json!({
        "description": description,
        "device_identity_secret": hex(&request.identity_secret),
        "device_identity_public": hex(code.identity_key().as_bytes()),
        "request_ephemeral_secret": hex(&request.ephemeral_secret),
        "request_ephemeral_public": hex(code.ephemeral_key()),
        "link_code": hex(&code.to_bytes()),
        "user_secret": hex(&user_secret),
        "user_public": hex(user.public_key().as_bytes()),
        "device_id": device_id,
        "device_list": hex(&list.to_bytes()),
        "device_list_hash": hex(list.hash()),
        "device_address": hex(&address.to_bytes()),
        "sender_ephemeral_secret": hex(&e),
        "sender_ephemeral_public": hex(&by_hand.e_pub),
        "shared_secret": hex(&by_hand.shared),
        "hkdf_info": hex(&by_hand.parts.info),
        "key": hex(&by_hand.okm[..32]),
        "nonce": hex(&by_hand.okm[32..]),
        "header": hex(&by_hand.header),
        "payload": hex(&p),
        "message": hex(&message),
    })
}

/// `A + T`, `T` of order 8: canonical, of large order, outside the subgroup.
fn torsioned_ed(a: &[u8; 32]) -> [u8; 32] {
    let p = CompressedEdwardsY(*a).decompress().unwrap();
    (p + EIGHT_TORSION[1]).compress().to_bytes()
}

/// X25519 keys §3.2 refuses, each with why.
fn bad_x25519(honest: &[u8; 32]) -> Vec<(String, [u8; 32])> {
    let mut out: Vec<(String, [u8; 32])> = EIGHT_TORSION
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                format!("of small order (EIGHT_TORSION[{i}])"),
                t.to_montgomery().to_bytes(),
            )
        })
        .collect();
    let p = MontgomeryPoint(*honest).to_edwards(0).unwrap();
    out.push((
        "P + T, T of order 8".into(),
        (p + EIGHT_TORSION[1]).to_montgomery().to_bytes(),
    ));
    let mut high = *honest;
    high[31] |= 0x80;
    out.push(("with the top bit set".into(), high));
    let mut p_itself = [0xffu8; 32];
    p_itself[0] = 0xed;
    p_itself[31] = 0x7f;
    out.push(("u = p (not reduced)".into(), p_itself));
    let mut two = [0u8; 32];
    two[0] = 2;
    out.push(("u = 2, on the twist".into(), two));
    out
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

fn code_negative(code: &LinkCode) -> Vec<Value> {
    let qr = code.to_bytes();
    let mut cases = Vec::new();
    let mut add = |reason: String, input: Vec<u8>| {
        let e = LinkCode::from_bytes(&input).expect_err(&reason);
        cases.push(json!({"reason": reason, "input": hex(&input), "error": error_name(&e)}));
    };
    add("empty".into(), vec![]);
    add("the last byte missing".into(), qr[..66].to_vec());
    add(
        "a byte after the identity key".into(),
        edit(&qr, |b| b.push(0)),
    );
    add("version byte 0x02".into(), edit(&qr, |b| b[0] = 2));
    add(
        "type byte 0x54 (a provisioning message's)".into(),
        edit(&qr, |b| b[1] = TYPE_PROVISIONING_MESSAGE),
    );
    add("suite 0x02".into(), edit(&qr, |b| b[2] = 2));
    let honest: [u8; 32] = code.ephemeral_key().to_owned();
    for (why, key) in bad_x25519(&honest) {
        add(
            format!("ephemeral key {why}"),
            edit(&qr, |b| b[3..35].copy_from_slice(&key)),
        );
    }
    let ik = *code.identity_key().as_bytes();
    add(
        "identity key of small order".into(),
        edit(&qr, |b| {
            b[35..].copy_from_slice(&EIGHT_TORSION[2].compress().to_bytes())
        }),
    );
    add(
        "identity key A + T".into(),
        edit(&qr, |b| b[35..].copy_from_slice(&torsioned_ed(&ik))),
    );
    add(
        "identity key not canonical (y >= p)".into(),
        edit(&qr, |b| {
            b[35..].copy_from_slice(&super::negative::non_canonical_identity())
        }),
    );
    add(
        "ephemeral key of small order and identity key A + T: the ephemeral key is checked first"
            .into(),
        edit(&qr, |b| {
            b[3..35].copy_from_slice(&EIGHT_TORSION[1].to_montgomery().to_bytes());
            b[35..].copy_from_slice(&torsioned_ed(&ik));
        }),
    );
    add(
        "identity key A + T and a trailing byte: structure is checked first".into(),
        edit(&qr, |b| {
            b[35..].copy_from_slice(&torsioned_ed(&ik));
            b.push(0);
        }),
    );
    cases
}

/// `bytes` with its signature replaced by `user`'s over its new body.
fn resigned(user: &UserIdentityKeyPair, bytes: &[u8]) -> Vec<u8> {
    let split = bytes.len() - 64;
    let mut out = bytes[..split].to_vec();
    out.extend_from_slice(&user.sign(SIG_DEVICE_LIST, &[&out]));
    out
}

/// The fixtures the negative messages are made from.
struct Setup<'a> {
    request: &'a Request,
    other_request: &'a Request,
    user: &'a UserIdentityKeyPair,
    other_user: &'a UserIdentityKeyPair,
    v1: &'a VerifiedDeviceList,
    v2: &'a VerifiedDeviceList,
    phone: &'a IdentityKey,
    address: &'a UserAddress,
}

fn message_negative(rng: &mut ChaCha20Rng, s: &Setup<'_>) -> Vec<Value> {
    let code = s.request.code();
    let good = ProvisioningMessage::seal(rng, &code, s.user, s.v2, 2).unwrap();
    let user_secret = s.user.to_secret_bytes();
    let list = s.v2.to_bytes();
    let mut cases = Vec::new();
    // A message opened by `request` (0: the link's, 1: another) must fail.
    let mut check = |reason: &str, request: usize, message: &[u8], sealed: Option<Value>| {
        let r = [s.request, s.other_request][request];
        let e = r.request().open(message).expect_err(reason);
        let mut case = json!({
            "reason": reason,
            "request": request,
            "message": hex(message),
            "error": error_name(&e),
        });
        if let Some(extra) = sealed {
            case["sealed_by_hand"] = extra;
        }
        cases.push(case);
    };
    let set = |at: usize, by: &[u8]| edit(&good, |b| b[at..at + by.len()].copy_from_slice(by));
    let ct_len = good.len() - 39;
    check("version byte 0x02", 0, &set(0, &[2]), None);
    check(
        "type byte 0x53 (a link code's)",
        0,
        &set(1, &[TYPE_LINK_CODE]),
        None,
    );
    check("suite 0x02", 0, &set(2, &[2]), None);
    check("the last byte missing", 0, &good[..good.len() - 1], None);
    check("only the header", 0, &good[..39], None);
    check("only version, type and suite", 0, &good[..3], None);
    check("a byte after the tag", 0, &edit(&good, |b| b.push(0)), None);
    check(
        "ciphertext_len 250",
        0,
        &set(35, &250u32.to_be_bytes()),
        None,
    );
    check(
        "ciphertext_len 1230",
        0,
        &set(35, &1230u32.to_be_bytes()),
        None,
    );
    check(
        "ciphertext_len one less than the ciphertext",
        0,
        &set(35, &(ct_len as u32 - 1).to_be_bytes()),
        None,
    );
    let honest: [u8; 32] = good[3..35].try_into().unwrap();
    for (why, key) in bad_x25519(&honest) {
        check(
            &format!("sender's ephemeral key {why}"),
            0,
            &set(3, &key),
            None,
        );
    }
    check(
        "sender's key of small order and a trailing byte: structure is checked first",
        0,
        &edit(&set(3, &[0; 32]), |b| b.push(0)),
        None,
    );
    check(
        "a ciphertext byte flipped",
        0,
        &edit(&good, |b| b[39] ^= 1),
        None,
    );
    check(
        "a tag byte flipped",
        0,
        &edit(&good, |b| *b.last_mut().unwrap() ^= 0x80),
        None,
    );
    let mut other_e = [0u8; 32];
    rng.fill_bytes(&mut other_e);
    let other_pub = PublicKey::from(&StaticSecret::from(other_e)).to_bytes();
    check(
        "the sender's key replaced by another valid key",
        0,
        &set(3, &other_pub),
        None,
    );
    check("sealed to another link code", 1, &good, None);

    // Sealed by hand: `payload` with `how` applied to the info or the AD.
    let mut by_hand = |reason: &str, p: &[u8], how: &dyn Fn(&mut Parts)| {
        let mut e = [0u8; 32];
        rng.fill_bytes(&mut e);
        let sealed = seal_by_hand(&e, &code, p, how);
        let extra = json!({
            "sender_ephemeral_secret": hex(&e),
            "hkdf_info": hex(&sealed.parts.info),
            "ad": hex(&sealed.parts.ad),
            "payload": hex(p),
        });
        check(reason, 0, &sealed.message, Some(extra));
    };
    let plain = payload(&user_secret, 2, &list);
    by_hand("sealed with an empty AD", &plain, &|x| x.ad.clear());
    by_hand("sealed with an AD whose type byte is 0x53", &plain, &|x| {
        x.ad[1] = TYPE_LINK_CODE
    });
    by_hand(
        "sealed with an HKDF info without the link code",
        &plain,
        &|x| x.info.truncate(PROVISIONING.len()),
    );
    by_hand("sealed with an HKDF info without the label", &plain, &|x| {
        x.info.drain(..PROVISIONING.len());
    });
    by_hand("payload version 0x02", &edit(&plain, |b| b[0] = 2), &|_| {});
    by_hand(
        "payload type 0x54",
        &edit(&plain, |b| b[1] = TYPE_PROVISIONING_MESSAGE),
        &|_| {},
    );
    by_hand(
        "payload with a byte after the list",
        &edit(&plain, |b| b.push(0)),
        &|_| {},
    );
    by_hand(
        "payload with the list's last byte missing",
        &plain[..plain.len() - 1],
        &|_| {},
    );
    by_hand(
        "the list's version byte 0x02",
        &edit(&plain, |b| b[38] = 2),
        &|_| {},
    );
    by_hand(
        "the list's signature altered",
        &edit(&plain, |b| *b.last_mut().unwrap() ^= 1),
        &|_| {},
    );
    let user_key: [u8; 32] = list[3..35].try_into().unwrap();
    by_hand(
        "the list's user key A + T, validly signed",
        &payload(
            &user_secret,
            2,
            &resigned(
                s.user,
                &edit(&list, |b| {
                    b[3..35].copy_from_slice(&torsioned_ed(&user_key))
                }),
            ),
        ),
        &|_| {},
    );
    let theirs = DeviceList::first(s.other_user, s.address, T0, [(2, code.identity_key(), T0)])
        .unwrap()
        .to_bytes();
    by_hand(
        "a list signed by another user key than the secret's",
        &payload(&user_secret, 2, &theirs),
        &|_| {},
    );
    by_hand(
        "another user's secret with the list",
        &payload(&s.other_user.to_secret_bytes(), 2, &list),
        &|_| {},
    );
    by_hand(
        "the device missing from the list (version 1)",
        &payload(&user_secret, 2, &s.v1.to_bytes()),
        &|_| {},
    );
    by_hand(
        "a device id not on the list",
        &payload(&user_secret, 9, &list),
        &|_| {},
    );
    by_hand(
        "the device id of another device on the list",
        &payload(&user_secret, 1, &list),
        &|_| {},
    );
    let wrong_key =
        s.v1.next(
            s.user,
            T0 + 60,
            [
                (1, s.phone, T0),
                (2, s.other_request.code().identity_key(), T0 + 60),
            ],
        )
        .unwrap();
    by_hand(
        "the list's device 2 has another identity key",
        &payload(&user_secret, 2, &wrong_key.to_bytes()),
        &|_| {},
    );
    cases
}

pub(super) fn provisioning_file() -> Value {
    let mut rng = seeded("provisioning");
    let user = UserIdentityKeyPair::generate(&mut rng);
    let phone = IdentityKeyPair::generate(&mut rng);
    let address = UserAddress::new(b"chirp", b"alice@example.org").unwrap();
    let v1 = DeviceList::first(&user, &address, T0, [(1, phone.public_key(), T0)]).unwrap();
    let request = Request::new(&mut rng);
    let code = request.code();
    let v2 = v1
        .next(
            &user,
            T0 + 60,
            [
                (1, phone.public_key(), T0),
                (2, code.identity_key(), T0 + 60),
            ],
        )
        .unwrap();
    let mut cases = vec![link_case(
        &mut rng,
        "device 2 joins an account whose device 1 signs version 2 of its list",
        &request,
        &user,
        &v2,
        2,
    )];

    // The shortest message: one-byte ids, the new device alone.
    let short_user = UserIdentityKeyPair::generate(&mut rng);
    let short_request = Request::new(&mut rng);
    let short_address = UserAddress::new(b"c", b"a").unwrap();
    let short = DeviceList::first(
        &short_user,
        &short_address,
        T0,
        [(0, short_request.code().identity_key(), T0)],
    )
    .unwrap();
    cases.push(link_case(
        &mut rng,
        "the shortest message (290 bytes): one-byte ids, device 0 alone on version 1",
        &short_request,
        &short_user,
        &short,
        0,
    ));

    // The longest: the longest ids and 16 devices, the new one last.
    let long_user = UserIdentityKeyPair::generate(&mut rng);
    let long_request = Request::new(&mut rng);
    let long_address = UserAddress::new(&[b'a'; 64], &[b'u'; 256]).unwrap();
    let others: Vec<IdentityKeyPair> = (1..MAX_DEVICES_PER_USER)
        .map(|_| IdentityKeyPair::generate(&mut rng))
        .collect();
    let long_code = long_request.code();
    let mut devices: Vec<(u32, &IdentityKey, u64)> = others
        .iter()
        .enumerate()
        .map(|(i, k)| (i as u32 + 1, k.public_key(), T0))
        .collect();
    devices.push((u32::MAX, long_code.identity_key(), T0));
    let long = DeviceList::first(&long_user, &long_address, T0, devices).unwrap();
    cases.push(link_case(
        &mut rng,
        "the longest message (1268 bytes): the longest ids, 16 devices, the new one with id 2^32 - 1",
        &long_request,
        &long_user,
        &long,
        u32::MAX,
    ));
    let lens: Vec<usize> = cases
        .iter()
        .map(|c| c["message"].as_str().unwrap().len() / 2)
        .collect();
    assert_eq!(lens[1..], [290, 1268]);

    let other_request = Request::new(&mut rng);
    let other_user = UserIdentityKeyPair::generate(&mut rng);
    let setup = Setup {
        request: &request,
        other_request: &other_request,
        user: &user,
        other_user: &other_user,
        v1: &v1,
        v2: &v2,
        phone: phone.public_key(),
        address: &address,
    };
    let negative = message_negative(&mut rng, &setup);
    let requests: Vec<Value> = [&request, &other_request]
        .iter()
        .map(|r| {
            json!({
                "device_identity_secret": hex(&r.identity_secret),
                "request_ephemeral_secret": hex(&r.ephemeral_secret),
                "link_code": hex(&r.code().to_bytes()),
            })
        })
        .collect();

    json!({
        "description": "Linking a device (PROTOCOL.md 13): links with every secret and \
                        intermediate, link codes and provisioning messages that must be \
                        refused. A negative message is opened with requests[request]; \
                        sealed_by_hand gives what it was sealed from.",
        "link_code_type": TYPE_LINK_CODE,
        "provisioning_message_type": TYPE_PROVISIONING_MESSAGE,
        "provisioning_payload_type": TYPE_PROVISIONING_PAYLOAD,
        "provisioning_label": hex(PROVISIONING),
        "cases": cases,
        "link_code_negative": code_negative(&code),
        "requests": requests,
        "negative": negative,
    })
}
