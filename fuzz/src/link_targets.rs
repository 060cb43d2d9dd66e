//! The device-link fuzz target: link codes, provisioning messages, and
//! provisioning payloads (sealed here, from the primitives, to a fixed link
//! request, so that they reach the checks behind the AEAD). Included by
//! `targets.rs`, so the corpus-replay test runs it too.

use std::sync::OnceLock;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use kinseal::{
    DeviceList, IdentityKeyPair, LinkCode, LinkRequest, ProvisioningMessage, UserAddress,
    UserIdentityKeyPair,
};

use super::rng;

/// The seed of the fixture's link request, drawn again for each opening.
const REQUEST_SEED: u8 = 60;
/// The sender's ephemeral secret for payloads sealed here.
const SENDER_SECRET: [u8; 32] = [0x42; 32];

/// A valid link: the code, the user, and the message and payload that
/// link the request as device 2.
struct LinkFixture {
    code: LinkCode,
    user: UserIdentityKeyPair,
    message: Vec<u8>,
    payload: Vec<u8>,
}

fn request() -> LinkRequest {
    LinkRequest::new(&mut rng(REQUEST_SEED))
}

fn link_fixture() -> &'static LinkFixture {
    static F: OnceLock<LinkFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(61);
        let user = UserIdentityKeyPair::generate(&mut r);
        let phone = IdentityKeyPair::generate(&mut r);
        let address = UserAddress::new(b"chirp", b"alice").unwrap();
        let code = request().code();
        let list = DeviceList::first(
            &user,
            &address,
            1_700_000_000,
            [
                (1, phone.public_key(), 1_700_000_000),
                (2, code.identity_key(), 1_700_000_000),
            ],
        )
        .unwrap();
        let message = ProvisioningMessage::seal(&mut r, &code, &user, &list, 2).unwrap();
        let mut payload = vec![1, 0x55];
        payload.extend_from_slice(user.to_secret_bytes().as_bytes());
        payload.extend_from_slice(&2u32.to_be_bytes());
        payload.extend_from_slice(&list.to_bytes());
        LinkFixture {
            code,
            user,
            message,
            payload,
        }
    })
}

/// `payload` sealed to `code` as PROTOCOL.md §13.4 says.
fn seal_payload(code: &LinkCode, payload: &[u8]) -> Vec<u8> {
    let secret = x25519_dalek::StaticSecret::from(SENDER_SECRET);
    let e_pub = x25519_dalek::PublicKey::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*code.ephemeral_key()));
    let mut info = b"KINSEAL-v1 provisioning\0".to_vec();
    info.extend_from_slice(&code.to_bytes());
    info.extend_from_slice(&e_pub);
    let mut okm = [0u8; 44];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[0u8; 32]), shared.as_bytes())
        .expand(&info, &mut okm)
        .unwrap();
    let len = u32::try_from(payload.len() + 16).unwrap_or(u32::MAX);
    let mut out = vec![1, 0x54, 1];
    out.extend_from_slice(&e_pub);
    out.extend_from_slice(&len.to_be_bytes());
    let header = out.clone();
    let mut body = payload.to_vec();
    let tag = ChaCha20Poly1305::new(okm[..32].try_into().unwrap())
        .encrypt_inout_detached(
            okm[32..].try_into().unwrap(),
            &header,
            InOutBuf::from(&mut body[..]),
        )
        .unwrap();
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    out
}

/// The first byte picks what the rest is: 0 a link code, 1 a provisioning
/// message for the fixture's request, 2 a payload, sealed here to that
/// request. A code that decodes re-encodes byte for byte; a message opens
/// only if it is the fixture's (no one else can seal to its code); a
/// payload opens only if it is one byte for byte, its secret, id and list
/// being what `Provisioned` gives back and the list naming the request's
/// identity key under that id. Nothing panics.
pub fn parse_link(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = link_fixture();
    match mode % 3 {
        0 => {
            if let Ok(code) = LinkCode::from_bytes(rest) {
                assert_eq!(code.to_bytes(), rest);
                assert_eq!(&rest[3..35], code.ephemeral_key());
                assert_eq!(&rest[35..], code.identity_key().as_bytes());
            }
        }
        1 => {
            if let Ok(linked) = request().open(rest) {
                assert_eq!(rest, &f.message[..]);
                assert_eq!(linked.user_identity().public_key(), f.user.public_key());
            }
        }
        _ => {
            let request = request();
            let identity = request.identity_key().clone();
            let Ok(linked) = request.open(&seal_payload(&f.code, rest)) else {
                return;
            };
            let secret = linked.user_identity().to_secret_bytes();
            let list = linked.device_list().to_bytes();
            let mut again = vec![1, 0x55];
            again.extend_from_slice(&secret);
            again.extend_from_slice(&linked.device_id().to_be_bytes());
            again.extend_from_slice(&list);
            assert_eq!(again, rest);
            assert_eq!(
                linked.device_list().user_key(),
                linked.user_identity().public_key()
            );
            let entry = linked.device_list().device(linked.device_id()).unwrap();
            assert_eq!(entry.identity_key(), &identity);
            assert_eq!(linked.device_identity().public_key(), &identity);
        }
    }
}

/// The link seeds: the fixture's code, message and payload, each after its
/// mode byte.
pub fn link_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let f = link_fixture();
    let with = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    vec![
        ("parse_link", "fixture-code", with(0, &f.code.to_bytes())),
        ("parse_link", "fixture-message", with(1, &f.message)),
        ("parse_link", "fixture-payload", with(2, &f.payload)),
    ]
}
