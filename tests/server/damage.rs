//! Robustness: random damage to valid uploads and messages.

use crate::directory::alice;
use crate::route::conversation;

use kinseal::IncomingMessage;
use kinseal::server::{PreKeyUpload, route};
use kinseal::{DecodeError, Error, MessageKind};
use proptest::prelude::*;

/// Up to four byte edits (position as a fraction of the length, new
/// value), and a new length: truncated, kept, or extended.
fn edits() -> impl Strategy<Value = (Vec<(f64, u8)>, i8)> {
    (
        prop::collection::vec((0.0..1.0f64, any::<u8>()), 1..4),
        -3i8..3,
    )
}

fn damaged(good: &[u8], edits: &[(f64, u8)], resize: i8) -> Vec<u8> {
    let mut b = good.to_vec();
    for (at, value) in edits {
        let i = (((b.len() as f64) * at) as usize).min(b.len() - 1);
        b[i] = *value;
    }
    let len = (b.len() as isize + isize::from(resize)).max(0) as usize;
    b.resize(len, 0);
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A damaged upload is refused, or it decodes into exactly its bytes;
    /// and it verifies only if it is the original.
    #[test]
    fn damaged_uploads(edits in edits()) {
        let good = alice().full_upload();
        let b = damaged(&good, &edits.0, edits.1);
        if let Ok(upload) = PreKeyUpload::from_bytes(&b) {
            prop_assert_eq!(upload.to_bytes(), b.clone());
            let verified = upload.verify(alice().identity.public_key()).is_ok();
            prop_assert_eq!(verified, b == good);
        }
    }

    /// `route` accepts a damaged message only if the recipient's decoder
    /// would, or would refuse it only for a key (which routing does not
    /// check); and it reports the same kind and prekey ids.
    #[test]
    fn damaged_messages(edits in edits(), which in 0..3usize) {
        let c = conversation();
        let good = [&c.first, &c.first_without_opk, &c.reply][which];
        let b = damaged(good, &edits.0, edits.1);
        match (route(&b), IncomingMessage::from_bytes(&b)) {
            (Ok(info), Ok(IncomingMessage::PreKey(m))) => {
                prop_assert_eq!(info.kind(), MessageKind::PreKeyMessage);
                let ids = info.prekeys().unwrap();
                prop_assert_eq!(ids.signed_prekey_id(), m.signed_prekey_id());
                prop_assert_eq!(ids.one_time_prekey_id(), m.one_time_prekey_id());
                prop_assert_eq!(ids.kem_prekey_id(), m.kem_prekey_id());
            }
            (Ok(info), Ok(IncomingMessage::Message(_))) => {
                prop_assert_eq!(info.kind(), MessageKind::Message);
                prop_assert_eq!(info.prekeys(), None);
            }
            (Ok(_), Err(e)) => {
                prop_assert!(
                    matches!(e, Error::Decode(DecodeError::InvalidKey { .. })),
                    "routed, but refused for {:?}", e
                );
            }
            (Err(r), Err(e)) => prop_assert_eq!(r, e),
            (Err(r), Ok(_)) => prop_assert!(false, "refused by route only: {:?}", r),
        }
    }
}
