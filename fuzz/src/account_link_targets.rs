//! The account-link fuzz target: links, proposals and revocations
//! (PROTOCOL.md §15) through their public decoders. Included by
//! `targets.rs`, so the corpus-replay test runs it too.

use std::sync::OnceLock;

use kinseal::{
    AccountLink, AccountLinkProposal, LinkRevocation, UserAddress, UserIdentityKeyPair,
    VerifiedAccountLink,
};

use super::rng;

/// One person's two accounts linked, the proposal that started it and a
/// revocation by each account.
struct LinkFixture {
    link: VerifiedAccountLink,
    proposal: Vec<u8>,
    revocations: [Vec<u8>; 2],
}

fn link_fixture() -> &'static LinkFixture {
    static F: OnceLock<LinkFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(6);
        let work = UserIdentityKeyPair::generate(&mut r);
        let family = UserIdentityKeyPair::generate(&mut r);
        let work_at = UserAddress::new(b"chirp", b"alice").unwrap();
        let family_at = UserAddress::new(b"parley", b"alice@family.example").unwrap();
        let proposal = AccountLinkProposal::new(
            &work,
            &work_at,
            family.public_key(),
            &family_at,
            1_700_000_000,
        )
        .unwrap();
        let proposal_bytes = proposal.to_bytes();
        let link = proposal.countersign(&family).unwrap().verify().unwrap();
        let revocations = [&work, &family].map(|k| {
            LinkRevocation::new(&link, k, 1_700_000_100)
                .unwrap()
                .to_bytes()
        });
        LinkFixture {
            link,
            proposal: proposal_bytes,
            revocations,
        }
    })
}

/// The layout seeds: the fixture's link, proposal and a revocation.
pub fn account_link_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let f = link_fixture();
    vec![
        ("parse_account_link", "fixture-link", f.link.to_bytes()),
        ("parse_account_link", "fixture-proposal", f.proposal.clone()),
        (
            "parse_account_link",
            "fixture-revocation",
            f.revocations[0].clone(),
        ),
    ]
}

/// Decodes `data` as a link, a proposal and a revocation. Whatever
/// decodes re-encodes to `data`; a link that verifies is one of the
/// fixture's keys' only if it is the fixture's link, and involves both of
/// its accounts; a proposal that decodes countersigns only with its
/// countersigner's key; a revocation verifies against the fixture's link
/// only if it is one of the fixture's two. Nothing panics.
pub fn parse_account_link(data: &[u8]) {
    let f = link_fixture();
    if let Ok(link) = AccountLink::from_bytes(data) {
        assert_eq!(link.to_bytes(), data);
        if let Ok(verified) = link.verify() {
            assert_eq!(verified.to_bytes(), data);
            let [a, b] = verified.accounts();
            assert!(a.user_key().as_bytes() < b.user_key().as_bytes());
            assert!(verified.involves(a.user_key()) && verified.involves(b.user_key()));
            assert_eq!(verified.other(a.user_key()), Some(b));
            if f.link.involves(a.user_key()) || f.link.involves(b.user_key()) {
                assert_eq!(verified.to_bytes(), f.link.to_bytes());
            }
        }
    }
    if let Ok(proposal) = AccountLinkProposal::from_bytes(data) {
        assert_eq!(proposal.to_bytes(), data);
        assert_ne!(proposal.proposer(), proposal.countersigner());
    }
    if let Ok(revocation) = LinkRevocation::from_bytes(data) {
        assert_eq!(revocation.to_bytes(), data);
        if revocation.verify(&f.link).is_ok() {
            assert!(f.revocations.iter().any(|r| r[..] == data[..]));
        }
    }
}
