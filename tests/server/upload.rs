//! Upload encoding and validation, without a directory: every malformed
//! upload refused with the right error.

use crate::directory::{NOW, alice, bob, rng, upload_err};

use kinseal::server::{
    MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD, MAX_UPLOAD_LEN, MIN_UPLOAD_LEN,
    PreKeyUpload, TYPE_PREKEY_UPLOAD,
};
use kinseal::{
    DecodeError, DirectoryError, Error, IdentityKeyPair, KemPreKeyPair, KeyKind, OneTimePreKeyPair,
    PreKeyRole, SignedPreKeyPair, UploadError, WireType,
};

// Offsets into `full_upload()`: see the layout in `PreKeyUpload`'s docs.
const IDENTITY: usize = 3;
const SPK_PRESENT: usize = 35;
const SPK_PUBLIC: usize = 36 + 12;
const LAST_RESORT_PRESENT: usize = 36 + 108;
const LAST_RESORT: usize = LAST_RESORT_PRESENT + 1;
const OPK_COUNT: usize = LAST_RESORT + 1261;
const OPK: usize = OPK_COUNT + 4;
const KEM_COUNT: usize = OPK + 3 * 36;
const KEM: usize = KEM_COUNT + 4;

fn decode_err(bytes: &[u8]) -> Error {
    PreKeyUpload::from_bytes(bytes).unwrap_err()
}

fn set_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn upload_round_trips_and_verifies() {
    let d = alice();
    let bytes = d.full_upload();
    assert_eq!(bytes.len(), MIN_UPLOAD_LEN + 108 + 1261 + 3 * 36 + 2 * 1261);
    assert_eq!(&bytes[..3], &[1, TYPE_PREKEY_UPLOAD, 1]);
    let upload = PreKeyUpload::from_bytes(&bytes).unwrap();
    assert_eq!(upload.to_bytes(), bytes);
    assert_eq!(upload.identity_key(), d.identity.public_key());
    assert_eq!(upload.signed_prekey(), Some(d.spk.public()));
    assert_eq!(upload.last_resort_prekey(), Some(d.last_resort.public()));
    assert_eq!(upload.one_time_prekeys().len(), 3);
    assert_eq!(upload.kem_prekeys().len(), 2);
    let verified = upload.clone().verify(d.identity.public_key()).unwrap();
    assert_eq!(verified.upload(), &upload);
    // Every part alone is an upload too.
    let one_time_only = PreKeyUpload::builder(&d.identity)
        .one_time_prekeys(d.one_time.iter().map(OneTimePreKeyPair::public))
        .to_bytes()
        .unwrap();
    PreKeyUpload::from_bytes(&one_time_only)
        .unwrap()
        .verify(d.identity.public_key())
        .unwrap();
    // Debug shows public data only, and no batch in full.
    let debug = format!("{upload:?}");
    assert!(debug.contains("one_time_prekeys: 3"), "{debug}");
}

#[test]
fn upload_sizes_match_the_limits() {
    let mut rng = rng(9);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW);
    let last_resort = KemPreKeyPair::generate(&mut rng, &identity, 1, true, NOW);
    let one_time =
        OneTimePreKeyPair::generate_batch(&mut rng, 1, MAX_ONE_TIME_PREKEYS_PER_UPLOAD).unwrap();
    let kem =
        KemPreKeyPair::generate_batch(&mut rng, &identity, 2, MAX_KEM_PREKEYS_PER_UPLOAD, NOW)
            .unwrap();
    let largest = PreKeyUpload::builder(&identity)
        .signed_prekey(spk.public())
        .last_resort_prekey(last_resort.public())
        .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
        .kem_prekeys(kem.iter().map(KemPreKeyPair::public))
        .to_bytes()
        .unwrap();
    assert_eq!(largest.len(), MAX_UPLOAD_LEN);
    PreKeyUpload::from_bytes(&largest).unwrap();

    // One more of either kind is refused by the builder...
    let extra = OneTimePreKeyPair::generate(&mut rng, 1000);
    let e = PreKeyUpload::builder(&identity)
        .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
        .one_time_prekeys([extra.public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::TooMany {
            prekey: PreKeyRole::OneTime,
            max: MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
            found: MAX_ONE_TIME_PREKEYS_PER_UPLOAD + 1,
        }
    );
    let e = PreKeyUpload::builder(&identity)
        .kem_prekeys(kem.iter().map(KemPreKeyPair::public))
        .kem_prekeys([kem[0].public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::TooMany {
            prekey: PreKeyRole::Kem,
            max: MAX_KEM_PREKEYS_PER_UPLOAD,
            found: MAX_KEM_PREKEYS_PER_UPLOAD + 1,
        }
    );
    // ...and by the server, from the count alone, before reading entries.
    let mut bytes = alice().full_upload();
    set_u32(&mut bytes, OPK_COUNT, 101);
    assert_eq!(
        upload_err(decode_err(&bytes)),
        UploadError::TooMany {
            prekey: PreKeyRole::OneTime,
            max: 100,
            found: 101
        }
    );
    let mut bytes = alice().full_upload();
    set_u32(&mut bytes, KEM_COUNT, u32::MAX);
    assert_eq!(
        upload_err(decode_err(&bytes)),
        UploadError::TooMany {
            prekey: PreKeyRole::Kem,
            max: 100,
            found: u32::MAX as usize
        }
    );

    // Oversize input is refused before it is read, whatever it holds.
    let oversize = vec![0u8; MAX_UPLOAD_LEN + 1];
    assert_eq!(
        decode_err(&oversize),
        Error::Decode(DecodeError::LengthOutOfRange {
            wire_type: WireType::PreKeyUpload,
            min: MIN_UPLOAD_LEN,
            max: MAX_UPLOAD_LEN,
            found: MAX_UPLOAD_LEN + 1,
        })
    );
}

#[test]
fn empty_upload_is_refused() {
    let d = alice();
    let e = PreKeyUpload::builder(&d.identity).to_bytes().unwrap_err();
    assert_eq!(upload_err(e), UploadError::Empty);
    // The shortest well-formed encoding: no key at all.
    let mut bytes = vec![1, TYPE_PREKEY_UPLOAD, 1];
    bytes.extend_from_slice(d.identity.public_key().as_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 64]);
    assert_eq!(bytes.len(), MIN_UPLOAD_LEN);
    assert_eq!(upload_err(decode_err(&bytes)), UploadError::Empty);
}

#[test]
fn malformed_upload_bytes_are_refused() {
    let good = alice().full_upload();
    let with = |at: usize, value: u8| {
        let mut b = good.clone();
        b[at] = value;
        decode_err(&b)
    };
    assert_eq!(
        with(0, 2),
        Error::Decode(DecodeError::UnsupportedVersion { found: 2 })
    );
    assert_eq!(
        with(1, 0x03),
        Error::Decode(DecodeError::UnexpectedType {
            expected: WireType::PreKeyUpload,
            found: 0x03
        })
    );
    assert_eq!(
        with(2, 2),
        Error::Decode(DecodeError::UnsupportedSuite { found: 2 })
    );
    for (at, field) in [
        (SPK_PRESENT, "spk_present"),
        (LAST_RESORT_PRESENT, "last_resort_present"),
        (LAST_RESORT + 4, "kem_kind"),
        (KEM + 4, "kem_kind"),
    ] {
        assert_eq!(
            with(at, 2),
            Error::Decode(DecodeError::InvalidField {
                wire_type: WireType::PreKeyUpload,
                field,
                found: 2
            }),
            "{field}"
        );
    }
    // Every proper prefix is truncated.
    for len in 0..good.len() {
        match decode_err(&good[..len]) {
            Error::Decode(DecodeError::Truncated {
                wire_type: WireType::PreKeyUpload,
                ..
            }) => {}
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
    // A byte too many.
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        decode_err(&long),
        Error::Decode(DecodeError::TrailingBytes {
            wire_type: WireType::PreKeyUpload,
            count: 1
        })
    );
}

#[test]
fn invalid_keys_are_refused_by_id() {
    let good = alice().full_upload();
    // The identity point y = 1 (the neutral element, of small order).
    let mut b = good.clone();
    b[IDENTITY..IDENTITY + 32].copy_from_slice(&{
        let mut y = [0u8; 32];
        y[0] = 1;
        y
    });
    assert_eq!(
        decode_err(&b),
        Error::Decode(DecodeError::InvalidKey {
            kind: KeyKind::Identity
        })
    );
    // X25519 keys with the top bit set are not canonical.
    let mut b = good.clone();
    b[SPK_PUBLIC + 31] |= 0x80;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::InvalidKey {
            prekey: PreKeyRole::Signed,
            id: 1
        }
    );
    let mut b = good.clone();
    b[OPK + 36 + 4 + 31] |= 0x80;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::InvalidKey {
            prekey: PreKeyRole::OneTime,
            id: 11
        }
    );
    // An ML-KEM key with a coefficient of 0xFFF >= q fails the FIPS 203 check.
    for (at, id) in [(LAST_RESORT, 1), (KEM + 1261, 3)] {
        let mut b = good.clone();
        b[at + 13] = 0xff;
        b[at + 14] |= 0x0f;
        assert_eq!(
            upload_err(decode_err(&b)),
            UploadError::InvalidKey {
                prekey: PreKeyRole::Kem,
                id
            }
        );
    }
}

#[test]
fn last_resort_flags_must_match_their_place() {
    let d = alice();
    // The builder refuses both mix-ups...
    let e = PreKeyUpload::builder(&d.identity)
        .last_resort_prekey(d.kem[0].public())
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::LastResortMismatch {
            id: 2,
            expected: true,
            found: false
        }
    );
    let e = PreKeyUpload::builder(&d.identity)
        .kem_prekeys([d.last_resort.public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::LastResortMismatch {
            id: 1,
            expected: false,
            found: true
        }
    );
    // ...and so does the server.
    let good = d.full_upload();
    let mut b = good.clone();
    b[LAST_RESORT + 4] = 0;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::LastResortMismatch {
            id: 1,
            expected: true,
            found: false
        }
    );
    let mut b = good.clone();
    b[KEM + 1261 + 4] = 1;
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::LastResortMismatch {
            id: 3,
            expected: false,
            found: true
        }
    );
}

#[test]
fn duplicate_ids_within_an_upload_are_refused() {
    let d = alice();
    let e = PreKeyUpload::builder(&d.identity)
        .one_time_prekeys(d.one_time.iter().map(OneTimePreKeyPair::public))
        .one_time_prekeys([d.one_time[1].public()])
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        upload_err(e),
        UploadError::DuplicateId {
            prekey: PreKeyRole::OneTime,
            id: 11
        }
    );
    let good = d.full_upload();
    // The third one-time key renamed to the first's id.
    let mut b = good.clone();
    set_u32(&mut b, OPK + 2 * 36, 10);
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::DuplicateId {
            prekey: PreKeyRole::OneTime,
            id: 10
        }
    );
    // A one-time ML-KEM key with the last-resort key's id: one id space.
    let mut b = good.clone();
    set_u32(&mut b, KEM + 1261, 1);
    assert_eq!(
        upload_err(decode_err(&b)),
        UploadError::DuplicateId {
            prekey: PreKeyRole::Kem,
            id: 1
        }
    );
    // Equal ids of different kinds are fine.
    let mut rng = rng(3);
    let opk = OneTimePreKeyPair::generate(&mut rng, 2);
    PreKeyUpload::builder(&d.identity)
        .one_time_prekeys([opk.public()])
        .kem_prekeys([d.kem[0].public()])
        .to_bytes()
        .unwrap();
}

#[test]
fn uploads_from_another_identity_are_refused() {
    let (a, b) = (alice(), bob());
    let bytes = a.full_upload();
    // Checked against the wrong device: the upload names another identity.
    let e = PreKeyUpload::from_bytes(&bytes)
        .unwrap()
        .verify(b.identity.public_key())
        .unwrap_err();
    assert_eq!(upload_err(e), UploadError::IdentityMismatch);
    // Claiming Bob's identity does not help: Alice cannot sign for it.
    let mut forged = bytes.clone();
    forged[IDENTITY..IDENTITY + 32].copy_from_slice(b.identity.public_key().as_bytes());
    let e = PreKeyUpload::from_bytes(&forged)
        .unwrap()
        .verify(b.identity.public_key())
        .unwrap_err();
    assert_eq!(upload_err(e), UploadError::InvalidUploadSignature);
}

#[test]
fn altered_uploads_fail_the_upload_signature() {
    let d = alice();
    let good = d.full_upload();
    // The one-time X25519 keys carry no signature of their own; the upload
    // signature is what protects them. Replace one by another valid key
    // (a flipped bit would most likely leave the prime-order subgroup and
    // be refused when decoded), flip a bit of the signature itself, and
    // replace the signed prekey.
    let other = *kinseal::OneTimePreKeyPair::generate(&mut rng(77), 9)
        .public()
        .public_key();
    for (at, len) in [(OPK + 4, 32), (good.len() - 1, 1), (SPK_PUBLIC, 32)] {
        let mut b = good.clone();
        if len == 32 {
            b[at..at + 32].copy_from_slice(&other);
        } else {
            b[at] ^= 0x01;
        }
        let e = PreKeyUpload::from_bytes(&b)
            .unwrap()
            .verify(d.identity.public_key())
            .unwrap_err();
        assert_eq!(
            upload_err(e),
            UploadError::InvalidUploadSignature,
            "at {at}"
        );
    }
}

#[test]
fn prekeys_signed_by_another_identity_are_refused() {
    let (a, b) = (alice(), bob());
    let verify = |bytes: Vec<u8>| {
        PreKeyUpload::from_bytes(&bytes)
            .unwrap()
            .verify(a.identity.public_key())
            .unwrap_err()
    };
    // Bob's keys, in an upload Alice signs: the upload signature holds, the
    // prekey signatures do not.
    let e = verify(
        PreKeyUpload::builder(&a.identity)
            .signed_prekey(b.spk.public())
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(
        upload_err(e),
        UploadError::InvalidSignature {
            prekey: PreKeyRole::Signed,
            id: 1
        }
    );
    let e = verify(
        PreKeyUpload::builder(&a.identity)
            .last_resort_prekey(b.last_resort.public())
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(
        upload_err(e),
        UploadError::InvalidSignature {
            prekey: PreKeyRole::Kem,
            id: 1
        }
    );
    let e = verify(
        PreKeyUpload::builder(&a.identity)
            .kem_prekeys([a.kem[0].public(), b.kem[1].public()])
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(
        upload_err(e),
        UploadError::InvalidSignature {
            prekey: PreKeyRole::Kem,
            id: 3
        }
    );
}

#[test]
fn every_error_displays() {
    let errors: Vec<Error> = vec![
        UploadError::Empty.into(),
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 3,
            highest: 9,
        }
        .into(),
        DirectoryError::NotReady {
            missing: PreKeyRole::Signed,
        }
        .into(),
        kinseal::StorageError::Busy.into(),
    ];
    for e in errors {
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        UploadError::StaleId {
            prekey: PreKeyRole::OneTime,
            id: 3,
            highest: 9
        }
        .to_string(),
        "one-time prekey id 3 is not above the highest accepted id 9"
    );
}
