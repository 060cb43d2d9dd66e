//! Unit tests of the directory rules that need no directory.

use super::*;
use crate::limits::{MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD};
use crate::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair};
use rand_core::SeedableRng;

/// The storage limits of both kinds, from the counts alone (filling a
/// directory with 1 000 real ML-KEM keys would be slow in debug builds).
#[test]
fn store_limits_of_both_kinds() {
    let mut rng = chacha20::ChaCha20Rng::from_seed([4; 32]);
    let identity = IdentityKeyPair::generate(&mut rng);
    let kem = KemPreKeyPair::generate(&mut rng, &identity, 9, false, 0);
    let opk = OneTimePreKeyPair::generate(&mut rng, 9);
    let upload = PreKeyUpload::from_bytes(
        &PreKeyUpload::builder(&identity)
            .kem_prekeys([kem.public()])
            .one_time_prekeys([opk.public()])
            .to_bytes()
            .unwrap(),
    )
    .unwrap()
    .verify(identity.public_key())
    .unwrap();
    let ik = identity.public_key();
    let counts = PreKeyCounts::new;
    let (highest, after) = upload
        .check_store(ik, HighestIds::default(), counts(4_999, 999))
        .unwrap();
    assert_eq!(after, counts(5_000, 1_000));
    assert_eq!(
        highest,
        HighestIds {
            signed: None,
            one_time: Some(9),
            kem: Some(9)
        }
    );
    assert_eq!(
        upload
            .check_store(ik, HighestIds::default(), counts(0, 1_000))
            .unwrap_err(),
        crate::Error::Upload(UploadError::StoreFull {
            prekey: PreKeyRole::Kem,
            max: MAX_STORED_KEM_PREKEYS,
            found: 1_001
        })
    );
    assert_eq!(
        upload
            .check_store(ik, HighestIds::default(), counts(5_000, 0))
            .unwrap_err(),
        crate::Error::Upload(UploadError::StoreFull {
            prekey: PreKeyRole::OneTime,
            max: MAX_STORED_ONE_TIME_PREKEYS,
            found: 5_001
        })
    );
    // The stored limits leave room for whole uploads.
    assert_eq!(
        MAX_STORED_ONE_TIME_PREKEYS % MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
        0
    );
    assert_eq!(MAX_STORED_KEM_PREKEYS % MAX_KEM_PREKEYS_PER_UPLOAD, 0);
}
