//! Keys outside the prime-order subgroup (PROTOCOL.md 3.1, 3.2; issue 13,
//! finding 2), for `negative.json`. Each input replaces one honest key `K`
//! by `K + T`, `T` the point of order 8 of `EIGHT_TORSION[1]`: a valid,
//! canonical encoding of a point of large order that only the subgroup
//! check refuses.

use super::*;

/// `A + T` for an Ed25519 encoding `A`.
pub(super) fn torsioned_identity(a: &[u8]) -> [u8; 32] {
    let mut b = [0u8; 32];
    b.copy_from_slice(a);
    let p = CompressedEdwardsY(b).decompress().unwrap();
    let out = (p + EIGHT_TORSION[1]).compress().to_bytes();
    assert!(VerifyingKey::from_bytes(&out).is_ok_and(|k| !k.is_weak()));
    out
}

/// `u(P + T)` for an X25519 u-coordinate `u(P)`.
pub(super) fn torsioned_x25519(u: &[u8]) -> [u8; 32] {
    let mut b = [0u8; 32];
    b.copy_from_slice(u);
    let p = MontgomeryPoint(b).to_edwards(0).unwrap();
    let out = (p + EIGHT_TORSION[1]).to_montgomery().to_bytes();
    assert!(crate::crypto::dh::is_canonical_public(&out));
    out
}

/// `input` with the 32 bytes at `at` (which must hold `key`) replaced.
pub(super) fn replaced(input: &[u8], at: usize, key: &[u8], by: &[u8; 32]) -> Vec<u8> {
    assert_eq!(
        &input[at..at + 32],
        key,
        "offset {at} does not hold the key"
    );
    edit(input, |b| b[at..at + 32].copy_from_slice(by))
}

/// The one offset of `key` in `input`.
fn offset_of(input: &[u8], key: &[u8]) -> usize {
    let hits: Vec<usize> = (0..=input.len() - key.len())
        .filter(|&i| &input[i..i + key.len()] == key)
        .collect();
    assert_eq!(hits.len(), 1, "the key is not in the input exactly once");
    hits[0]
}

fn upload_result(bytes: &[u8]) -> Result<(), Error> {
    PreKeyUpload::from_bytes(bytes).map(|_| ())
}

/// An upload refusal's kind: `UploadInvalidKey` for a bad prekey (SERVER.md
/// 2.2 step 3), else as `error_name`.
fn upload_error_name(e: &Error) -> &'static str {
    match e {
        Error::Upload(crate::UploadError::InvalidKey { .. }) => "UploadInvalidKey",
        e => error_name(e),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn subgroup_cases(
    rng: &mut chacha20::ChaCha20Rng,
    setup: &Value,
    bundle: &[u8],
    prekey: &[u8],
    bob_record: &[u8],
    responder: &IdentityKeyPair,
) -> (Vec<Value>, Vec<u8>) {
    let mut cases = Vec::new();
    let r = &setup["responder"];
    let (ik_b, spk, opk) = (
        unhex(&r["identity_public"]),
        unhex(&r["signed_prekey"]["public"]),
        unhex(&r["one_time_prekey"]["public"]),
    );
    let ik_a = unhex(&setup["initiator"]["identity_public"]);
    let base = unhex(&setup["initiator"]["base_public"]);

    // Bundle (4.1): IK_B at 3, SPK_B at 47, OPK_B at 148.
    let mut add_bundle = |reason: &str, input: Vec<u8>| {
        let r = bundle_result(&input);
        cases.push(case("bundle", reason, &input, r));
    };
    add_bundle(
        "identity key A + T, T of order 8 (not in the prime-order subgroup)",
        replaced(bundle, 3, &ik_b, &torsioned_identity(&ik_b)),
    );
    add_bundle(
        "signed prekey u(P + T), T of order 8",
        replaced(bundle, 47, &spk, &torsioned_x25519(&spk)),
    );
    add_bundle(
        "one-time prekey u(P + T), T of order 8",
        replaced(bundle, 148, &opk, &torsioned_x25519(&opk)),
    );
    // A signed prekey of small order whose signature is valid: refused when
    // decoded, so its all-zero DH is never computed.
    let zero = [0u8; 32];
    let spk_id = u32::from_be_bytes([bundle[35], bundle[36], bundle[37], bundle[38]]);
    let created = &bundle[39..47];
    let sig = responder.sign(
        crate::crypto::labels::SIG_SIGNED_PREKEY,
        &[
            &[crate::wire::SUITE_V1],
            &spk_id.to_be_bytes(),
            created,
            &zero,
        ],
    );
    add_bundle(
        "signed prekey of small order (u = 0) with a valid signature",
        edit(&replaced(bundle, 47, &spk, &zero), |b| {
            b[79..143].copy_from_slice(&sig)
        }),
    );
    let mut twist = [0u8; 32];
    twist[0] = 2; // u = 2: u^3 + A u^2 + u is not a square, a twist point
    add_bundle(
        "signed prekey on the twist (u = 2)",
        replaced(bundle, 47, &spk, &twist),
    );

    // PreKeyMessage (4.3) and Message (4.2).
    let mut add_message = |reason: &str, input: Vec<u8>| {
        let r = message_result(&input);
        cases.push(case("message", reason, &input, r));
    };
    add_message(
        "PreKeyMessage identity key A + T, T of order 8",
        replaced(prekey, 3, &ik_a, &torsioned_identity(&ik_a)),
    );
    add_message(
        "PreKeyMessage base key u(P + T), T of order 8",
        replaced(
            prekey,
            offset_of(prekey, &base),
            &base,
            &torsioned_x25519(&base),
        ),
    );
    let bob = Session::from_bytes(bob_record).unwrap();
    // A session state of revision 1 (4.4), whose keys a reader validates
    // (revision 2 stores keys validated before they were stored): local
    // identity at 4, remote at 36, base key at 100, and the receiving
    // chain's ratchet key (found by value).
    let bob_record = &crate::wire::revision_1(bob_record)[..];
    let mut add_record = |reason: &str, input: Vec<u8>| {
        let r = record_result(&input);
        cases.push(case("session_record", reason, &input, r));
    };
    add_record(
        "revision 1: local identity key A + T",
        replaced(bob_record, 4, &ik_b, &torsioned_identity(&ik_b)),
    );
    add_record(
        "revision 1: remote identity key A + T",
        replaced(bob_record, 36, &ik_a, &torsioned_identity(&ik_a)),
    );
    add_record(
        "revision 1: base key u(P + T)",
        replaced(bob_record, 100, &base, &torsioned_x25519(&base)),
    );
    // Bob's one receiving chain is keyed by Alice's base key (her first
    // ratchet key), which the record holds a second time there.
    let peer = bob
        .ratchet()
        .current_peer_key()
        .map(|k| k.as_bytes().to_vec());
    assert_eq!(peer.as_ref(), Some(&base));
    let chain_at = 132 + offset_of(&bob_record[132..], &base);
    add_record(
        "revision 1: receiving chain ratchet key u(P + T)",
        replaced(bob_record, chain_at, &base, &torsioned_x25519(&base)),
    );

    // Upload (SERVER.md 2.1): IK at 3, the signed prekey's public at 48,
    // the first one-time prekey's public right after the last-resort flag
    // (absent here), the count and its id.
    let device = IdentityKeyPair::generate(rng);
    let signed = SignedPreKeyPair::generate(rng, &device, 7, 1_767_225_600);
    let one_time = OneTimePreKeyPair::generate_batch(rng, 100, 2).unwrap();
    let upload = PreKeyUpload::builder(&device)
        .signed_prekey(signed.public())
        .one_time_prekeys(one_time.iter().map(|k| k.public()))
        .to_bytes()
        .unwrap();
    PreKeyUpload::from_bytes(&upload)
        .unwrap()
        .verify(device.public_key())
        .unwrap();
    let ik_d = *device.public_key().as_bytes();
    let spk_d = *signed.public().public_key();
    let opk_d = *one_time[1].public().public_key();
    let opk_at = 36 + 108 + 1 + 4 + 36 + 4;
    let mut add_upload = |reason: &str, input: Vec<u8>| {
        let Err(e) = upload_result(&input) else {
            panic!("negative vector was accepted: {reason}");
        };
        cases.push(
            json!({"kind": "upload", "reason": reason, "input": hex(&input),
                          "error": upload_error_name(&e)}),
        );
    };
    add_upload(
        "identity key A + T",
        replaced(&upload, 3, &ik_d, &torsioned_identity(&ik_d)),
    );
    add_upload(
        "signed prekey u(P + T)",
        replaced(&upload, 48, &spk_d, &torsioned_x25519(&spk_d)),
    );
    add_upload(
        "second one-time prekey u(P + T)",
        replaced(&upload, opk_at, &opk_d, &torsioned_x25519(&opk_d)),
    );
    (cases, upload)
}
