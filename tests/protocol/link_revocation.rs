//! Link revocations (PROTOCOL.md §15.4): by either account, the layout,
//! and every rejection: another link, an unlinked revoker, a bad
//! signature, malformed bytes.

use curve25519_dalek::constants::EIGHT_TORSION;
use kinseal::{
    AccountLinkError, AccountLinkProposal, DecodeError, Error, KeyKind, LinkRevocation,
    SignedObject, UserIdentityKeyPair, WireType,
};

use crate::account_link::{
    LINK_LABEL, REVOCATION_LABEL, T0, bad_signature, decode_err, fixture, raw_sign,
};

#[test]
fn revocations_revoke_their_link_only() {
    let f = fixture(7);
    let link = f.link();
    for signer in [&f.work, &f.family] {
        let r = LinkRevocation::new(&link, signer, T0 + 60).unwrap();
        assert_eq!(r.link_hash(), link.hash());
        assert_eq!(r.revoked_at(), T0 + 60);
        assert_eq!(r.revoker(), signer.public_key());
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), 139);
        let back = LinkRevocation::from_bytes(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.to_bytes(), bytes);
        back.verify(&link).unwrap();
        // The layout, by hand.
        let mut by_hand = vec![1, 0x57, 1];
        by_hand.extend_from_slice(link.hash());
        by_hand.extend_from_slice(&(T0 + 60).to_be_bytes());
        by_hand.extend_from_slice(signer.public_key().as_bytes());
        let sig = raw_sign(signer, REVOCATION_LABEL, &by_hand);
        by_hand.extend_from_slice(&sig);
        assert_eq!(bytes, by_hand);
        assert!(format!("{r:?}").contains("LinkRevocation"));
    }

    // Another link of the same accounts (made later): another hash.
    let later = AccountLinkProposal::new(
        &f.work,
        &f.work_at,
        f.family.public_key(),
        &f.family_at,
        T0 + 1,
    )
    .unwrap()
    .countersign(&f.family)
    .unwrap()
    .verify()
    .unwrap();
    assert_ne!(later.hash(), link.hash());
    let r = LinkRevocation::new(&link, &f.work, T0).unwrap();
    assert_eq!(
        r.verify(&later).unwrap_err(),
        Error::AccountLink(AccountLinkError::OtherLink)
    );

    // Edits of a good revocation.
    let good = r.to_bytes();
    let revoker = 43;
    let body_end = 75;
    let resign = |signer: &UserIdentityKeyPair, b: &mut Vec<u8>| {
        let sig = raw_sign(signer, REVOCATION_LABEL, &b[..body_end]);
        b[body_end..].copy_from_slice(&sig);
    };
    // A stranger revoking, validly signed by the stranger.
    let mut stranger = good.clone();
    stranger[revoker..body_end].copy_from_slice(f.stranger.public_key().as_bytes());
    resign(&f.stranger, &mut stranger);
    let stranger = LinkRevocation::from_bytes(&stranger).unwrap();
    assert_eq!(
        stranger.verify(&link).unwrap_err(),
        Error::AccountLink(AccountLinkError::NotLinked)
    );
    // The hash checked before the revoker.
    assert_eq!(
        stranger.verify(&later).unwrap_err(),
        Error::AccountLink(AccountLinkError::OtherLink)
    );
    // Naming one linked key, signed by the other.
    let mut swapped = good.clone();
    swapped[revoker..body_end].copy_from_slice(f.family.public_key().as_bytes());
    let swapped = LinkRevocation::from_bytes(&swapped).unwrap();
    let bad = bad_signature(SignedObject::LinkRevocation);
    assert_eq!(swapped.verify(&link).unwrap_err(), bad);
    // Changed after signing; signed under the link label.
    let mut late = good.clone();
    late[35 + 7] ^= 1;
    assert_eq!(
        LinkRevocation::from_bytes(&late)
            .unwrap()
            .verify(&link)
            .unwrap_err(),
        bad
    );
    let mut label = good.clone();
    let sig = raw_sign(&f.work, LINK_LABEL, &label[..body_end]);
    label[body_end..].copy_from_slice(&sig);
    assert_eq!(
        LinkRevocation::from_bytes(&label)
            .unwrap()
            .verify(&link)
            .unwrap_err(),
        bad
    );

    // Structure and the revoker key.
    let e = |b: &[u8]| LinkRevocation::from_bytes(b).unwrap_err();
    assert_eq!(
        e(&[&[2u8][..], &good[1..]].concat()),
        Error::Decode(DecodeError::UnsupportedVersion { found: 2 })
    );
    assert!(matches!(
        decode_err(e(&[&[1u8, 0x56][..], &good[2..]].concat())),
        DecodeError::UnexpectedType {
            expected: WireType::LinkRevocation,
            ..
        }
    ));
    assert!(matches!(
        decode_err(e(&good[..138])),
        DecodeError::Truncated {
            wire_type: WireType::LinkRevocation,
            ..
        }
    ));
    assert!(matches!(
        decode_err(e(&[&good[..], &[0]].concat())),
        DecodeError::TrailingBytes { .. }
    ));
    let mut small = good.clone();
    small[revoker..body_end].copy_from_slice(&EIGHT_TORSION[5].compress().to_bytes());
    assert_eq!(
        e(&small),
        Error::Decode(DecodeError::InvalidKey {
            kind: KeyKind::UserIdentity
        })
    );
}
