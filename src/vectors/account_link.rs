//! `account-link.json`: one person's two accounts linked from either side,
//! with every field, signed body, signature and hash; the proposals; the
//! revocations by each account; encodings that must be refused; and
//! revocations checked against links (PROTOCOL.md §15).

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::conversation::error_name;
use super::{hex, seeded};
use crate::address::UserAddress;
use crate::crypto::labels::{ACCOUNT_LINK_HASH, SIG_ACCOUNT_LINK, SIG_LINK_REVOCATION};
use crate::keys::{
    AccountLink, AccountLinkProposal, LinkRevocation, UserIdentityKeyPair, VerifiedAccountLink,
};
use crate::wire::{SUITE_V1, TYPE_ACCOUNT_LINK, TYPE_ACCOUNT_LINK_PROPOSAL, TYPE_LINK_REVOCATION};

/// Seconds since the Unix epoch: 2026-01-01.
const T0: u64 = 1_767_225_600;
const DAY: u64 = 86_400;

/// An account as PROTOCOL.md §15.1 writes it: key, then embedded address.
fn account_bytes(key: &[u8; 32], address: &UserAddress) -> Vec<u8> {
    let mut b = key.to_vec();
    b.push(address.app_id().len() as u8);
    b.extend_from_slice(address.app_id());
    b.extend_from_slice(&(address.user_id().len() as u16).to_be_bytes());
    b.extend_from_slice(address.user_id());
    b
}

/// The link body, byte by byte.
fn body_by_hand(accounts: [(&[u8; 32], &UserAddress); 2], created_at: u64) -> Vec<u8> {
    let mut b = vec![1, TYPE_ACCOUNT_LINK, SUITE_V1];
    for (key, address) in accounts {
        b.extend(account_bytes(key, address));
    }
    b.extend_from_slice(&created_at.to_be_bytes());
    b
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn raw_sign(secret: &[u8], label: &[u8], body: &[u8]) -> [u8; 64] {
    let secret: [u8; 32] = secret.try_into().unwrap();
    let message = [label, body].concat();
    SigningKey::from_bytes(&secret).sign(&message).to_bytes()
}

/// One account as JSON.
fn account_json(key: &[u8; 32], address: &UserAddress) -> Value {
    json!({
        "user_public": hex(key),
        "app_id": hex(address.app_id()),
        "user_id": hex(address.user_id()),
    })
}

/// A link with every value, recomputed from the primitives and compared
/// with what the library produced. `secrets` are the two accounts' user
/// secrets in canonical order.
fn link_json(description: &str, secrets: [&[u8]; 2], v: &VerifiedAccountLink) -> Value {
    let [a, b] = v.accounts();
    let keys = [a.user_key().as_bytes(), b.user_key().as_bytes()];
    let body = body_by_hand(
        [(keys[0], a.address()), (keys[1], b.address())],
        v.created_at(),
    );
    let message = [SIG_ACCOUNT_LINK, &body].concat();
    let first = raw_sign(secrets[0], SIG_ACCOUNT_LINK, &body);
    let second = raw_sign(secrets[1], SIG_ACCOUNT_LINK, &body);
    let encoding = [&body[..], &first, &second].concat();
    assert_eq!(encoding, v.to_bytes());
    let hash = sha256(&[ACCOUNT_LINK_HASH, &encoding]);
    assert_eq!(&hash, v.hash());
    json!({
        "description": description,
        "accounts": [account_json(keys[0], a.address()), account_json(keys[1], b.address())],
        "created_at": v.created_at(),
        "body": hex(&body),
        "signed_message": hex(&message),
        "first_signature": hex(&first),
        "second_signature": hex(&second),
        "encoding": hex(&encoding),
        "hash": hex(&hash),
    })
}

/// A proposal, recomputed: `0x01 0x58 0x01 ‖ proposer ‖` the link body
/// after its header `‖` the proposer's signature of the link body.
fn proposal_json(description: &str, secret: &[u8], p: &AccountLinkProposal) -> Value {
    let [a, b] = p.accounts();
    let keys = [a.user_key().as_bytes(), b.user_key().as_bytes()];
    let body = body_by_hand(
        [(keys[0], a.address()), (keys[1], b.address())],
        p.created_at(),
    );
    let second = p.proposer() == b;
    let signature = raw_sign(secret, SIG_ACCOUNT_LINK, &body);
    let mut encoding = vec![1, TYPE_ACCOUNT_LINK_PROPOSAL, SUITE_V1, u8::from(second)];
    encoding.extend_from_slice(&body[3..]);
    encoding.extend_from_slice(&signature);
    assert_eq!(encoding, p.to_bytes());
    json!({
        "description": description,
        "proposer": u8::from(second),
        "proposer_public": hex(p.proposer().user_key().as_bytes()),
        "created_at": p.created_at(),
        "link_body": hex(&body),
        "signature": hex(&signature),
        "encoding": hex(&encoding),
    })
}

fn revocation_json(description: &str, secret: &[u8], r: &LinkRevocation) -> Value {
    let mut body = vec![1, TYPE_LINK_REVOCATION, SUITE_V1];
    body.extend_from_slice(r.link_hash());
    body.extend_from_slice(&r.revoked_at().to_be_bytes());
    body.extend_from_slice(r.revoker().as_bytes());
    let signature = raw_sign(secret, SIG_LINK_REVOCATION, &body);
    let encoding = [&body[..], &signature].concat();
    assert_eq!(encoding, r.to_bytes());
    json!({
        "description": description,
        "link_hash": hex(r.link_hash()),
        "revoked_at": r.revoked_at(),
        "revoker": hex(r.revoker().as_bytes()),
        "body": hex(&body),
        "signed_message": hex(&[SIG_LINK_REVOCATION, &body].concat()),
        "signature": hex(&signature),
        "encoding": hex(&encoding),
    })
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

/// `A + T`, `T` of order 8: canonical, of large order, outside the subgroup.
fn torsioned(a: &[u8; 32]) -> [u8; 32] {
    let p = CompressedEdwardsY(*a).decompress().unwrap();
    (p + EIGHT_TORSION[1]).compress().to_bytes()
}

/// The person's two accounts and a stranger's key, made once.
struct People {
    work: UserIdentityKeyPair,
    work_at: UserAddress,
    family: UserIdentityKeyPair,
    family_at: UserAddress,
    stranger: UserIdentityKeyPair,
}

impl People {
    fn secret(&self, key: &[u8; 32]) -> Vec<u8> {
        [&self.work, &self.family, &self.stranger]
            .into_iter()
            .find(|p| p.public_key().as_bytes() == key)
            .map(|p| p.to_secret_bytes().as_bytes().to_vec())
            .unwrap()
    }

    fn link(&self, created_at: u64) -> VerifiedAccountLink {
        AccountLinkProposal::new(
            &self.work,
            &self.work_at,
            self.family.public_key(),
            &self.family_at,
            created_at,
        )
        .unwrap()
        .countersign(&self.family)
        .unwrap()
        .verify()
        .unwrap()
    }
}

pub(super) fn account_link_file() -> Value {
    let mut rng = seeded("account-link");
    let people = People {
        work: UserIdentityKeyPair::generate(&mut rng),
        work_at: UserAddress::new(b"chirp", b"alice@work.example").unwrap(),
        family: UserIdentityKeyPair::generate(&mut rng),
        family_at: UserAddress::new(b"parley", b"alice").unwrap(),
        stranger: UserIdentityKeyPair::generate(&mut rng),
    };
    let p = &people;
    let link = p.link(T0);
    let [first, second] = link.accounts();
    let secrets = [
        p.secret(first.user_key().as_bytes()),
        p.secret(second.user_key().as_bytes()),
    ];
    let (s1, s2) = (&secrets[0][..], &secrets[1][..]);

    let from_work =
        AccountLinkProposal::new(&p.work, &p.work_at, p.family.public_key(), &p.family_at, T0)
            .unwrap();
    let from_family =
        AccountLinkProposal::new(&p.family, &p.family_at, p.work.public_key(), &p.work_at, T0)
            .unwrap();
    let work_secret = p.secret(p.work.public_key().as_bytes());
    let family_secret = p.secret(p.family.public_key().as_bytes());
    assert_eq!(
        from_work.clone().countersign(&p.family).unwrap().to_bytes(),
        link.to_bytes()
    );
    assert_eq!(
        from_family.clone().countersign(&p.work).unwrap().to_bytes(),
        link.to_bytes()
    );
    let later = p.link(T0 + 30 * DAY);
    let links = vec![
        link_json(
            "the work account (chirp) and the family account (parley) of one person",
            [s1, s2],
            &link,
        ),
        link_json(
            "the same two accounts, linked again 30 days later",
            [s1, s2],
            &later,
        ),
    ];
    let proposals = vec![
        proposal_json("proposed by the work account", &work_secret, &from_work),
        proposal_json(
            "proposed by the family account",
            &family_secret,
            &from_family,
        ),
    ];

    let by_work = LinkRevocation::new(&link, &p.work, T0 + 60 * DAY).unwrap();
    let by_family = LinkRevocation::new(&link, &p.family, T0 + 61 * DAY).unwrap();
    let revocations = vec![
        revocation_json(
            "the first link, revoked by the work account",
            &work_secret,
            &by_work,
        ),
        revocation_json(
            "the first link, revoked by the family account",
            &family_secret,
            &by_family,
        ),
    ];

    // Revocations against links.
    let stranger_secret = p.stranger.to_secret_bytes().as_bytes().to_vec();
    let mut by_stranger = by_work.to_bytes();
    by_stranger[43..75].copy_from_slice(p.stranger.public_key().as_bytes());
    let sig = raw_sign(&stranger_secret, SIG_LINK_REVOCATION, &by_stranger[..75]);
    by_stranger[75..].copy_from_slice(&sig);
    let mut misattributed = by_work.to_bytes();
    misattributed[43..75].copy_from_slice(p.family.public_key().as_bytes());
    let revocation_case = |d: &str, r: &[u8], l: &VerifiedAccountLink| {
        let outcome = LinkRevocation::from_bytes(r)
            .and_then(|r| r.verify(l))
            .map_or_else(|e| error_name(&e), |()| "Valid");
        json!({"description": d, "revocation": hex(r), "link": hex(&l.to_bytes()), "outcome": outcome})
    };
    let revocation_cases = vec![
        revocation_case(
            "by the work account, of its link",
            &by_work.to_bytes(),
            &link,
        ),
        revocation_case(
            "by the family account, of its link",
            &by_family.to_bytes(),
            &link,
        ),
        revocation_case(
            "of the first link, checked against the later one",
            &by_work.to_bytes(),
            &later,
        ),
        revocation_case(
            "naming a stranger's key, signed by the stranger",
            &by_stranger,
            &link,
        ),
        revocation_case(
            "naming the family key, signed by the work key",
            &misattributed,
            &link,
        ),
        revocation_case(
            "revoked_at changed after signing",
            &edit(&by_work.to_bytes(), |b| b[42] ^= 1),
            &link,
        ),
    ];

    let negative = negative_cases(p, &link, &from_work, &by_work);
    json!({
        "description": "Account links (PROTOCOL.md 15): one person's two accounts linked, the \
                        proposals from either side, revocations, rejections. body is every \
                        byte before the signatures; signed_message is the label || body; the \
                        link hash is SHA-256(hash_label || encoding).",
        "link_type_byte": TYPE_ACCOUNT_LINK,
        "revocation_type_byte": TYPE_LINK_REVOCATION,
        "proposal_type_byte": TYPE_ACCOUNT_LINK_PROPOSAL,
        "link_label": hex(SIG_ACCOUNT_LINK),
        "hash_label": hex(ACCOUNT_LINK_HASH),
        "revocation_label": hex(SIG_LINK_REVOCATION),
        "user_secrets": [hex(&work_secret), hex(&family_secret)],
        "links": links,
        "proposals": proposals,
        "revocations": revocations,
        "revocation_cases": revocation_cases,
        "negative": negative,
    })
}

/// Encodings each decoder must refuse, with the error kinds kinseal
/// reports: `kind` is `link` (decode and verify), `proposal` (decode,
/// signature included) or `revocation` (decode only).
fn negative_cases(
    p: &People,
    link: &VerifiedAccountLink,
    proposal: &AccountLinkProposal,
    revocation: &LinkRevocation,
) -> Vec<Value> {
    let mut cases = Vec::new();
    let mut add = |kind: &str, reason: &str, input: Vec<u8>| {
        let result = match kind {
            "link" => AccountLink::from_bytes(&input)
                .and_then(AccountLink::verify)
                .map(drop),
            "proposal" => AccountLinkProposal::from_bytes(&input).map(drop),
            _ => LinkRevocation::from_bytes(&input).map(drop),
        };
        let Err(e) = result else {
            panic!("negative {kind} accepted: {reason}");
        };
        cases.push(
            json!({"kind": kind, "reason": reason, "input": hex(&input), "error": error_name(&e)}),
        );
    };
    let good = link.to_bytes();
    let [first, second] = link.accounts();
    let (k1, k2) = (*first.user_key().as_bytes(), *second.user_key().as_bytes());
    let (a1, a2) = (first.address(), second.address());
    let second_at = 3 + account_bytes(&k1, a1).len();
    let sigs_at = good.len() - 128;
    let set =
        |b: &[u8], at: usize, by: &[u8]| edit(b, |b| b[at..at + by.len()].copy_from_slice(by));
    let signed = |body: Vec<u8>, keys: [&[u8; 32]; 2]| {
        let mut out = body.clone();
        for k in keys {
            out.extend(raw_sign(&p.secret(k), SIG_ACCOUNT_LINK, &body));
        }
        out
    };

    add("link", "version byte 0x02", set(&good, 0, &[2]));
    add(
        "link",
        "type byte 0x58 (a proposal's)",
        set(&good, 1, &[0x58]),
    );
    add("link", "suite 0x02", set(&good, 2, &[2]));
    add(
        "link",
        "the last byte missing",
        good[..good.len() - 1].to_vec(),
    );
    add(
        "link",
        "a byte after the signatures",
        edit(&good, |b| b.push(0)),
    );
    add("link", "first app_id_len 0", set(&good, 35, &[0]));
    add("link", "first app_id_len 65", set(&good, 35, &[65]));
    add("link", "second user_id_len 257", {
        let at = second_at + 32 + 1 + a2.app_id().len();
        set(&good, at, &[1, 1])
    });
    add(
        "link",
        "first user key A + T",
        set(&good, 3, &torsioned(&k1)),
    );
    add(
        "link",
        "second user key of small order",
        set(&good, second_at, &EIGHT_TORSION[1].compress().to_bytes()),
    );
    add(
        "link",
        "first user key not canonical (y >= p)",
        set(&good, 3, &super::negative::non_canonical_identity()),
    );
    add(
        "link",
        "the accounts in descending order of key, validly signed",
        signed(
            body_by_hand([(&k2, a2), (&k1, a1)], link.created_at()),
            [&k2, &k1],
        ),
    );
    add(
        "link",
        "both accounts with the first key, validly signed",
        signed(
            body_by_hand([(&k1, a1), (&k1, a2)], link.created_at()),
            [&k1, &k1],
        ),
    );
    add(
        "link",
        "both accounts with the first address, validly signed",
        signed(
            body_by_hand([(&k1, a1), (&k2, a1)], link.created_at()),
            [&k1, &k2],
        ),
    );
    let sig1 = good[sigs_at..sigs_at + 64].to_vec();
    let sig2 = good[sigs_at + 64..].to_vec();
    add(
        "link",
        "the two signatures swapped",
        [&good[..sigs_at], &sig2, &sig1].concat(),
    );
    add(
        "link",
        "the first signature twice",
        [&good[..sigs_at], &sig1, &sig1].concat(),
    );
    add(
        "link",
        "the second signature by a stranger",
        edit(&good, |b| {
            let secret = p.stranger.to_secret_bytes().as_bytes().to_vec();
            let s = raw_sign(&secret, SIG_ACCOUNT_LINK, &b[..sigs_at]);
            b[sigs_at + 64..].copy_from_slice(&s);
        }),
    );
    add(
        "link",
        "the first signature without the label",
        edit(&good, |b| {
            let s = raw_sign(&p.secret(&k1), b"", &b[..sigs_at]);
            b[sigs_at..sigs_at + 64].copy_from_slice(&s);
        }),
    );
    add(
        "link",
        "the second signature under the revocation label",
        edit(&good, |b| {
            let s = raw_sign(&p.secret(&k2), SIG_LINK_REVOCATION, &b[..sigs_at]);
            b[sigs_at + 64..].copy_from_slice(&s);
        }),
    );
    add(
        "link",
        "created_at changed after signing",
        edit(&good, |b| b[sigs_at - 1] ^= 1),
    );

    let prop = proposal.to_bytes();
    let proposer_at = 3;
    add(
        "proposal",
        "type byte 0x56 (a link's)",
        set(&prop, 1, &[0x56]),
    );
    add(
        "proposal",
        "proposer byte 0x02",
        set(&prop, proposer_at, &[2]),
    );
    add(
        "proposal",
        "proposer byte naming the other account",
        set(&prop, proposer_at, &[prop[proposer_at] ^ 1]),
    );
    add(
        "proposal",
        "the last byte missing",
        prop[..prop.len() - 1].to_vec(),
    );
    add(
        "proposal",
        "first user key A + T",
        set(&prop, 4, &torsioned(&k1)),
    );
    add(
        "proposal",
        "the accounts in descending order of key, signed by the proposer",
        {
            let body = body_by_hand([(&k2, a2), (&k1, a1)], link.created_at());
            let proposer = proposal.proposer().user_key().as_bytes();
            let second_proposes = u8::from(proposer == &k1);
            let mut b = vec![1, TYPE_ACCOUNT_LINK_PROPOSAL, SUITE_V1, second_proposes];
            b.extend_from_slice(&body[3..]);
            b.extend(raw_sign(&p.secret(proposer), SIG_ACCOUNT_LINK, &body));
            b
        },
    );
    add(
        "proposal",
        "created_at changed after signing",
        edit(&prop, |b| {
            let at = b.len() - 65;
            b[at] ^= 1;
        }),
    );

    let rev = revocation.to_bytes();
    add(
        "revocation",
        "type byte 0x56 (a link's)",
        set(&rev, 1, &[0x56]),
    );
    add("revocation", "suite 0x02", set(&rev, 2, &[2]));
    add("revocation", "138 bytes", rev[..138].to_vec());
    add("revocation", "140 bytes", edit(&rev, |b| b.push(0)));
    add(
        "revocation",
        "revoker key of small order",
        set(&rev, 43, &EIGHT_TORSION[2].compress().to_bytes()),
    );
    cases
}
