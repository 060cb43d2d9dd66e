//! Account links (PROTOCOL.md §15): the two-step flow from either side,
//! round trips, every decode and verify rejection of proposals and links,
//! API misuse, and every single-byte change refused; the fixture that
//! `link_revocation` shares.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::Signer;
use kinseal::{
    AccountLink, AccountLinkProposal, DecodeError, Error, KeyKind, LinkRevocation, MisuseError,
    ProtocolError, SignedObject, UserAddress, UserIdentityKey, UserIdentityKeyPair,
    VerifiedAccountLink, WireType,
};

use crate::common::rng;

pub(crate) const T0: u64 = 1_767_225_600;
pub(crate) const LINK_LABEL: &[u8] = b"KINSEAL-v1 account link\0";
pub(crate) const REVOCATION_LABEL: &[u8] = b"KINSEAL-v1 link revocation\0";

/// One person's two accounts, in two apps, and a stranger's key.
pub(crate) struct Fixture {
    pub(crate) work: UserIdentityKeyPair,
    pub(crate) work_at: UserAddress,
    pub(crate) family: UserIdentityKeyPair,
    pub(crate) family_at: UserAddress,
    pub(crate) stranger: UserIdentityKeyPair,
}

pub(crate) fn fixture(seed: u64) -> Fixture {
    let mut r = rng(seed);
    Fixture {
        work: UserIdentityKeyPair::generate(&mut r),
        work_at: UserAddress::new(b"chirp", b"alice@work.example").unwrap(),
        family: UserIdentityKeyPair::generate(&mut r),
        family_at: UserAddress::new(b"parley", b"alice").unwrap(),
        stranger: UserIdentityKeyPair::generate(&mut r),
    }
}

impl Fixture {
    /// The work app proposes; the family app countersigns.
    fn proposal(&self) -> AccountLinkProposal {
        AccountLinkProposal::new(
            &self.work,
            &self.work_at,
            self.family.public_key(),
            &self.family_at,
            T0,
        )
        .unwrap()
    }

    pub(crate) fn link(&self) -> VerifiedAccountLink {
        self.proposal()
            .countersign(&self.family)
            .unwrap()
            .verify()
            .unwrap()
    }

    /// The pair of `key`, of the two accounts (or the stranger).
    fn pair(&self, key: &[u8]) -> &UserIdentityKeyPair {
        [&self.work, &self.family, &self.stranger]
            .into_iter()
            .find(|p| p.public_key().as_bytes()[..] == key[..])
            .unwrap()
    }
}

pub(crate) fn raw_sign(user: &UserIdentityKeyPair, label: &[u8], body: &[u8]) -> [u8; 64] {
    let secret: [u8; 32] = user.to_secret_bytes().as_bytes().try_into().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    key.sign(&[label, body].concat()).to_bytes()
}

fn embedded(key: &[u8; 32], a: &UserAddress) -> Vec<u8> {
    let mut out = key.to_vec();
    out.push(a.app_id().len() as u8);
    out.extend_from_slice(a.app_id());
    out.extend_from_slice(&(a.user_id().len() as u16).to_be_bytes());
    out.extend_from_slice(a.user_id());
    out
}

/// A link body by hand (PROTOCOL.md §15.1): the accounts in the order given.
fn body(accounts: [(&[u8; 32], &UserAddress); 2], created_at: u64) -> Vec<u8> {
    let mut out = vec![1, 0x56, 1];
    for (key, address) in accounts {
        out.extend(embedded(key, address));
    }
    out.extend_from_slice(&created_at.to_be_bytes());
    out
}

/// A link of `body`, each signature made by the key the account in its
/// position names (looked up in the fixture), whatever the body says.
fn signed_link(f: &Fixture, body: &[u8], keys: [&[u8; 32]; 2]) -> Vec<u8> {
    let mut out = body.to_vec();
    for key in keys {
        out.extend(raw_sign(f.pair(key), LINK_LABEL, body));
    }
    out
}

pub(crate) fn decode_err(e: Error) -> DecodeError {
    match e {
        Error::Decode(d) => d,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

fn field(wire_type: WireType, field: &'static str, found: u32) -> Error {
    Error::Decode(DecodeError::InvalidField {
        wire_type,
        field,
        found,
    })
}

pub(crate) fn bad_signature(object: SignedObject) -> Error {
    Error::Protocol(ProtocolError::InvalidSignature { object })
}

fn verify(bytes: &[u8]) -> kinseal::Result<VerifiedAccountLink> {
    AccountLink::from_bytes(bytes)?.verify()
}

fn torsioned(a: &[u8; 32]) -> [u8; 32] {
    let p = CompressedEdwardsY(*a).decompress().unwrap();
    (p + EIGHT_TORSION[1]).compress().to_bytes()
}

#[test]
fn a_link_from_either_side_is_the_same_link() {
    let f = fixture(1);
    let proposal = f.proposal();
    assert_eq!(proposal.proposer().user_key(), f.work.public_key());
    assert_eq!(proposal.proposer().address(), &f.work_at);
    assert_eq!(proposal.countersigner().user_key(), f.family.public_key());
    assert_eq!(proposal.countersigner().address(), &f.family_at);
    assert_eq!(proposal.created_at(), T0);

    // The proposal travels as bytes and comes back the same.
    let bytes = proposal.to_bytes();
    let carried = AccountLinkProposal::from_bytes(&bytes).unwrap();
    assert_eq!(carried, proposal);
    assert_eq!(carried.to_bytes(), bytes);

    let link = carried.countersign(&f.family).unwrap();
    let bytes = link.to_bytes();
    let verified = verify(&bytes).unwrap();
    assert_eq!(verified.to_bytes(), bytes);
    assert_eq!(verified.link(), &link);
    assert_eq!(verified.created_at(), T0);

    // Canonical order: ascending by key, whoever proposed.
    let [first, second] = verified.accounts();
    assert!(first.user_key().as_bytes() < second.user_key().as_bytes());
    let mut both = [
        (f.work.public_key(), &f.work_at),
        (f.family.public_key(), &f.family_at),
    ];
    both.sort_by_key(|(k, _)| k.to_bytes());
    assert_eq!((first.user_key(), first.address()), both[0]);
    assert_eq!((second.user_key(), second.address()), both[1]);

    // The family app proposing instead gives the same bytes.
    let reverse =
        AccountLinkProposal::new(&f.family, &f.family_at, f.work.public_key(), &f.work_at, T0)
            .unwrap();
    assert_ne!(reverse.to_bytes(), f.proposal().to_bytes());
    assert_eq!(reverse.countersign(&f.work).unwrap().to_bytes(), bytes);

    // The encoding, field by field.
    let by_hand = body(
        [
            (first.user_key().as_bytes(), first.address()),
            (second.user_key().as_bytes(), second.address()),
        ],
        T0,
    );
    let keys = [first.user_key().as_bytes(), second.user_key().as_bytes()];
    assert_eq!(bytes, signed_link(&f, &by_hand, keys));
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"KINSEAL-v1 account link hash\0");
    h.update(&bytes);
    assert_eq!(verified.hash()[..], h.finalize()[..]);
    // The proposal's signature is the proposer's half of the link.
    let proposal_bytes = f.proposal().to_bytes();
    let proposer_sig = &proposal_bytes[proposal_bytes.len() - 64..];
    let at = if keys[0] == f.work.public_key().as_bytes() {
        0
    } else {
        1
    };
    let sigs = &bytes[by_hand.len()..];
    assert_eq!(&sigs[64 * at..64 * at + 64], proposer_sig);
    assert_eq!(proposal_bytes[3], at as u8);
    assert_eq!(proposal_bytes[4..proposal_bytes.len() - 64], by_hand[3..]);
}

#[test]
fn who_is_linked() {
    let f = fixture(2);
    let link = f.link();
    assert!(link.involves(f.work.public_key()));
    assert!(link.involves(f.family.public_key()));
    assert!(!link.involves(f.stranger.public_key()));
    let other = link.other(f.work.public_key()).unwrap();
    assert_eq!(
        (other.user_key(), other.address()),
        (f.family.public_key(), &f.family_at)
    );
    let other = link.other(f.family.public_key()).unwrap();
    assert_eq!(other.address(), &f.work_at);
    assert!(link.other(f.stranger.public_key()).is_none());
    // Debug output names the accounts and no encoding.
    let shown = format!("{link:?}");
    assert!(shown.contains("VerifiedAccountLink"), "{shown}");
    assert!(format!("{:?}", f.proposal()).contains("proposer"));
}

#[test]
fn misuse_is_refused() {
    let f = fixture(3);
    let to_self = |theirs: &UserIdentityKey, at: &UserAddress| {
        AccountLinkProposal::new(&f.work, &f.work_at, theirs, at, T0).unwrap_err()
    };
    let link_to_self = Error::Misuse(MisuseError::LinkToSelf);
    assert_eq!(to_self(f.work.public_key(), &f.family_at), link_to_self);
    assert_eq!(to_self(f.family.public_key(), &f.work_at), link_to_self);
    assert_eq!(to_self(f.work.public_key(), &f.work_at), link_to_self);
    let wrong = Error::Misuse(MisuseError::WrongLinkKey);
    // Countersigned by the proposer itself, or by a stranger.
    assert_eq!(f.proposal().countersign(&f.work).unwrap_err(), wrong);
    assert_eq!(f.proposal().countersign(&f.stranger).unwrap_err(), wrong);
    // Revoked by a stranger.
    assert_eq!(
        LinkRevocation::new(&f.link(), &f.stranger, T0).unwrap_err(),
        wrong
    );
}

/// Offsets in the fixture's link and proposal.
struct Layout {
    second_key: usize,
    created_at: usize,
    signatures: usize,
}

fn layout(link: &VerifiedAccountLink) -> Layout {
    let [first, _] = link.accounts();
    let second_key = 3 + embedded(first.user_key().as_bytes(), first.address()).len();
    let signatures = link.to_bytes().len() - 128;
    Layout {
        second_key,
        created_at: signatures - 8,
        signatures,
    }
}

#[test]
fn malformed_links_are_refused_in_order() {
    let f = fixture(4);
    let link = f.link();
    let good = link.to_bytes();
    let at = layout(&link);
    let [first, second] = link.accounts();
    let (k1, k2) = (first.user_key().to_bytes(), second.user_key().to_bytes());
    let set = |at: usize, by: &[u8]| {
        let mut b = good.clone();
        b[at..at + by.len()].copy_from_slice(by);
        b
    };
    let wt = WireType::AccountLink;

    // Structure, front to back.
    let e = |b: &[u8]| decode_err(AccountLink::from_bytes(b).unwrap_err());
    assert_eq!(
        e(&set(0, &[2])),
        DecodeError::UnsupportedVersion { found: 2 }
    );
    assert!(matches!(
        e(&set(1, &[0x58])),
        DecodeError::UnexpectedType {
            expected: WireType::AccountLink,
            found: 0x58
        }
    ));
    assert_eq!(e(&set(2, &[2])), DecodeError::UnsupportedSuite { found: 2 });
    assert!(matches!(
        e(&good[..good.len() - 1]),
        DecodeError::Truncated { .. }
    ));
    assert!(matches!(
        e(&[&good[..], &[0]].concat()),
        DecodeError::TrailingBytes { count: 1, .. }
    ));
    assert!(matches!(
        e(&set(35, &[0])),
        DecodeError::LengthOutOfRange { found: 0, .. }
    ));
    assert!(matches!(
        e(&set(35, &[65])),
        DecodeError::LengthOutOfRange { found: 65, .. }
    ));
    assert!(matches!(
        e(&set(at.second_key + 32, &[0])),
        DecodeError::LengthOutOfRange { .. }
    ));
    assert!(matches!(e(&[]), DecodeError::Truncated { .. }));
    // A proposal is not a link, nor a link a proposal.
    let proposal = f.proposal().to_bytes();
    assert!(matches!(
        e(&proposal),
        DecodeError::UnexpectedType { found: 0x58, .. }
    ));
    assert!(matches!(
        decode_err(AccountLinkProposal::from_bytes(&good).unwrap_err()),
        DecodeError::UnexpectedType {
            expected: WireType::AccountLinkProposal,
            found: 0x56
        }
    ));

    // Keys, first then second: A + T, small order, not canonical.
    let user_key = Error::Decode(DecodeError::InvalidKey {
        kind: KeyKind::UserIdentity,
    });
    for bad in [
        torsioned(&k1),
        EIGHT_TORSION[1].compress().to_bytes(),
        [0xff; 32],
    ] {
        assert_eq!(
            AccountLink::from_bytes(&set(3, &bad)).unwrap_err(),
            user_key
        );
        assert_eq!(
            AccountLink::from_bytes(&set(at.second_key, &bad)).unwrap_err(),
            user_key
        );
    }
    // Keys before order: the second key invalid and equal-ordered.
    let both_bad = set(at.second_key, &torsioned(&k1));
    assert_eq!(AccountLink::from_bytes(&both_bad).unwrap_err(), user_key);

    // Consistency, validly signed: descending order, equal keys, equal
    // addresses.
    let descending = body([(&k2, second.address()), (&k1, first.address())], T0);
    let descending = signed_link(&f, &descending, [&k2, &k1]);
    assert_eq!(
        AccountLink::from_bytes(&descending).unwrap_err(),
        field(wt, "user_key", 2)
    );
    let same_key = body([(&k1, first.address()), (&k1, second.address())], T0);
    let same_key = signed_link(&f, &same_key, [&k1, &k1]);
    assert_eq!(
        AccountLink::from_bytes(&same_key).unwrap_err(),
        field(wt, "user_key", 2)
    );
    let same_address = body([(&k1, first.address()), (&k2, first.address())], T0);
    let same_address = signed_link(&f, &same_address, [&k1, &k2]);
    assert_eq!(
        AccountLink::from_bytes(&same_address).unwrap_err(),
        field(wt, "address", 2)
    );
}

#[test]
fn links_with_a_bad_signature_are_refused() {
    let f = fixture(5);
    let link = f.link();
    let good = link.to_bytes();
    let at = layout(&link);
    let [first, second] = link.accounts();
    let (k1, k2) = (first.user_key().to_bytes(), second.user_key().to_bytes());
    let signed = &good[..at.signatures];
    let with = |s1: [u8; 64], s2: [u8; 64]| [signed, &s1, &s2].concat();
    let sig = |key: &[u8], label: &[u8], body: &[u8]| raw_sign(f.pair(key), label, body);
    let bad = bad_signature(SignedObject::AccountLink);
    let (k1, k2) = (&k1[..], &k2[..]);
    let ok1 = sig(k1, LINK_LABEL, signed);
    let ok2 = sig(k2, LINK_LABEL, signed);
    assert!(verify(&with(ok1, ok2)).is_ok());
    for (what, bytes) in [
        ("signatures swapped", with(ok2, ok1)),
        (
            "first signature by the second key's owner twice",
            with(ok2, ok2),
        ),
        ("the first signature twice", with(ok1, ok1)),
        (
            "the first by a stranger",
            with(
                sig(f.stranger.public_key().as_bytes(), LINK_LABEL, signed),
                ok2,
            ),
        ),
        (
            "the second without the label",
            with(ok1, sig(k2, b"", signed)),
        ),
        (
            "the first under the revocation label",
            with(sig(k1, REVOCATION_LABEL, signed), ok2),
        ),
        (
            "the second under the device list label",
            with(ok1, sig(k2, b"KINSEAL-v1 device list\0", signed)),
        ),
        ("created_at changed after signing", {
            let mut b = good.clone();
            b[at.created_at + 7] ^= 1;
            b
        }),
        ("an address changed after signing", {
            let mut b = good.clone();
            b[36] ^= 1;
            b
        }),
    ] {
        assert_eq!(verify(&bytes).unwrap_err(), bad, "{what}");
    }
    // S + L: the second signature with a non-reduced S.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut s_plus_l = ok2;
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(s_plus_l[32 + i]) + u16::from(l[i]) + carry;
        s_plus_l[32 + i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(verify(&with(ok1, s_plus_l)).unwrap_err(), bad);
}

#[test]
fn malformed_proposals_are_refused() {
    let f = fixture(6);
    let good = f.proposal().to_bytes();
    let wt = WireType::AccountLinkProposal;
    let set = |at: usize, by: &[u8]| {
        let mut b = good.clone();
        b[at..at + by.len()].copy_from_slice(by);
        b
    };
    let err = |b: &[u8]| AccountLinkProposal::from_bytes(b).unwrap_err();
    assert_eq!(
        err(&set(0, &[2])),
        Error::Decode(DecodeError::UnsupportedVersion { found: 2 })
    );
    assert_eq!(
        err(&set(2, &[0])),
        Error::Decode(DecodeError::UnsupportedSuite { found: 0 })
    );
    assert_eq!(err(&set(3, &[2])), field(wt, "proposer", 2));
    assert!(matches!(
        decode_err(err(&good[..good.len() - 1])),
        DecodeError::Truncated { .. }
    ));
    assert!(matches!(
        decode_err(err(&[&good[..], &[0]].concat())),
        DecodeError::TrailingBytes { .. }
    ));
    // The proposer byte naming the other account: its signature fails.
    let flipped = set(3, &[good[3] ^ 1]);
    assert_eq!(err(&flipped), bad_signature(SignedObject::AccountLink));
    // A key of small order.
    assert_eq!(
        err(&set(4, &EIGHT_TORSION[3].compress().to_bytes())),
        Error::Decode(DecodeError::InvalidKey {
            kind: KeyKind::UserIdentity
        })
    );
    // Descending order, signed by the proposer: refused before the signature.
    let link = f.link();
    let [first, second] = link.accounts();
    let (k1, k2) = (first.user_key().to_bytes(), second.user_key().to_bytes());
    let descending = body([(&k2, second.address()), (&k1, first.address())], T0);
    let mut p = vec![1, 0x58, 1, 0];
    p.extend_from_slice(&descending[3..]);
    p.extend(raw_sign(f.pair(&k2), LINK_LABEL, &descending));
    assert_eq!(err(&p), field(wt, "user_key", 2));
    // Changed after signing.
    let mut changed = good.clone();
    let created_at = good.len() - 64 - 8;
    changed[created_at] ^= 0x80;
    assert_eq!(err(&changed), bad_signature(SignedObject::AccountLink));
    let mut resigned = good.clone();
    let n = resigned.len();
    resigned[n - 1] ^= 1;
    assert_eq!(err(&resigned), bad_signature(SignedObject::AccountLink));
}

type Accepts<'a> = dyn Fn(&[u8]) -> bool + 'a;

/// Every single-byte change of a link, a proposal and a revocation is
/// refused (or, for a proposal whose proposer byte moves, refused by its
/// signature): nothing else verifies.
#[test]
fn every_byte_is_covered() {
    let f = fixture(8);
    let link = f.link();
    let revocation = LinkRevocation::new(&link, &f.family, T0).unwrap();
    let proposal = f.proposal().to_bytes();
    let cases: [(&str, Vec<u8>, &Accepts); 3] = [
        ("link", link.to_bytes(), &|b| verify(b).is_ok()),
        ("proposal", proposal, &|b| {
            AccountLinkProposal::from_bytes(b).is_ok()
        }),
        ("revocation", revocation.to_bytes(), &|b| {
            LinkRevocation::from_bytes(b).is_ok_and(|r| r.verify(&link).is_ok())
        }),
    ];
    for (what, good, accepts) in cases {
        assert!(accepts(&good), "{what}");
        for i in 0..good.len() {
            for flip in [0x01, 0x80] {
                let mut b = good.clone();
                b[i] ^= flip;
                assert!(!accepts(&b), "{what}: byte {i} ^ {flip:#x} accepted");
            }
        }
    }
}
