//! Account links: a statement, signed by the user identity keys of two
//! accounts, that the two are the same person; the proposal one account
//! signs first; and the revocation either may sign (PROTOCOL.md §15). The
//! byte layouts are in `wire/account_link.rs`.
//!
//! Each user key lives in its own app, so a link takes two steps: one
//! app makes an [`AccountLinkProposal`] (signed by its key), the person
//! carries it to the other app, which countersigns it into an
//! [`AccountLink`]. Nothing kinseal sends carries a link: the person shows
//! it to whom they choose.

use core::fmt;

use super::{Short, UserIdentityKey, UserIdentityKeyPair};
use crate::address::UserAddress;
use crate::crypto::kdf::sha256;
use crate::crypto::labels::{ACCOUNT_LINK_HASH, SIG_ACCOUNT_LINK};
use crate::error::{DecodeError, MisuseError, SignedObject, WireType};
use crate::wire::{
    ACCOUNT_LINK_HASH_LEN, AccountLinkBodyFrame, AccountLinkFrame, AccountLinkProposalFrame, Frame,
    LinkedAccountFrame, SIGNATURE_LEN, UserAddressFrame,
};

/// One account of a link: a user identity key and the address of the
/// account it is the key of, as both keys signed them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LinkedAccount {
    user_key: UserIdentityKey,
    address: UserAddress,
}

impl LinkedAccount {
    /// The account's user identity key.
    pub fn user_key(&self) -> &UserIdentityKey {
        &self.user_key
    }

    /// The account's address: its app id and user id.
    pub fn address(&self) -> &UserAddress {
        &self.address
    }

    fn frame(&self) -> LinkedAccountFrame<'_> {
        LinkedAccountFrame {
            user_key: self.user_key.to_bytes(),
            address: UserAddressFrame::of(&self.address),
        }
    }
}

/// What both keys sign: the two accounts, in canonical order (ascending
/// by user key), and the creation time.
#[derive(Clone, PartialEq, Eq, Debug)]
struct LinkBody {
    accounts: [LinkedAccount; 2],
    created_at: u64,
}

impl LinkBody {
    /// The two accounts in canonical order; `true` with them if `ours`
    /// went second.
    fn ordered(ours: LinkedAccount, theirs: LinkedAccount, created_at: u64) -> (Self, bool) {
        let ours_second = ours.user_key.as_bytes() > theirs.user_key.as_bytes();
        let accounts = if ours_second {
            [theirs, ours]
        } else {
            [ours, theirs]
        };
        (
            LinkBody {
                accounts,
                created_at,
            },
            ours_second,
        )
    }

    /// The typed body of a decoded frame: the keys in order (`InvalidKey`),
    /// then consistency (`InvalidField` with the second account's position,
    /// 2): the second key strictly above the first (so not equal), the
    /// addresses different.
    fn from_frame(f: &AccountLinkBodyFrame<'_>, wire_type: WireType) -> crate::Result<Self> {
        let [first, second] = &f.accounts;
        let first_address = first.address.to_address()?;
        let second_address = second.address.to_address()?;
        let first_key = UserIdentityKey::from_bytes(&first.user_key)?;
        let second_key = UserIdentityKey::from_bytes(&second.user_key)?;
        let invalid = |field| DecodeError::InvalidField {
            wire_type,
            field,
            found: 2,
        };
        if second.user_key <= first.user_key {
            return Err(invalid("user_key").into());
        }
        if first_address == second_address {
            return Err(invalid("address").into());
        }
        Ok(LinkBody {
            accounts: [
                LinkedAccount {
                    user_key: first_key,
                    address: first_address,
                },
                LinkedAccount {
                    user_key: second_key,
                    address: second_address,
                },
            ],
            created_at: f.created_at,
        })
    }

    fn frame(&self) -> AccountLinkBodyFrame<'_> {
        let [first, second] = &self.accounts;
        AccountLinkBodyFrame {
            accounts: [first.frame(), second.frame()],
            created_at: self.created_at,
        }
    }

    /// The bytes both signatures cover, with `room` to spare.
    fn signed_bytes(&self, room: usize) -> Vec<u8> {
        self.frame().link_body(room)
    }

    /// The account whose key is `key`, if either.
    fn account(&self, key: &UserIdentityKey) -> Option<&LinkedAccount> {
        self.accounts.iter().find(|a| a.user_key == *key)
    }

    fn verify(&self, second: bool, signature: &[u8; SIGNATURE_LEN]) -> crate::Result<()> {
        let [first_account, second_account] = &self.accounts;
        let signer = if second {
            second_account
        } else {
            first_account
        };
        signer.user_key.verify(
            SignedObject::AccountLink,
            SIG_ACCOUNT_LINK,
            &[&self.signed_bytes(0)],
            signature,
        )?;
        Ok(())
    }
}

/// A proposal to link two accounts, signed by one of them (the proposer)
/// and waiting for the other's signature (PROTOCOL.md §15.2).
///
/// The proposer's app makes it with [`AccountLinkProposal::new`] from its
/// own user key pair and the other account's user key and address (which
/// the person brings over from their other app); the person carries the
/// encoding to the other app, which decodes it
/// ([`AccountLinkProposal::from_bytes`], signature included) and
/// countersigns it ([`AccountLinkProposal::countersign`]).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountLinkProposal {
    body: LinkBody,
    second_proposes: bool,
    signature: [u8; SIGNATURE_LEN],
}

impl AccountLinkProposal {
    /// Proposes a link between our account (`ours`, the user key pair of
    /// the account at `our_address`) and theirs (`theirs`, the user key of
    /// the account at `their_address`), made at `created_at` (seconds since
    /// the Unix epoch, informational), signed by `ours`.
    ///
    /// # Errors
    /// [`MisuseError::LinkToSelf`] if the two keys or the two addresses are
    /// the same.
    ///
    /// # Security
    /// Take `theirs` and `their_address` from the person's other app (a QR
    /// code it shows, say), never from a contact or a server: the proposal
    /// says that the person holding `ours` is the one holding `theirs`.
    pub fn new(
        ours: &UserIdentityKeyPair,
        our_address: &UserAddress,
        theirs: &UserIdentityKey,
        their_address: &UserAddress,
        created_at: u64,
    ) -> crate::Result<Self> {
        if ours.public_key() == theirs || our_address == their_address {
            return Err(MisuseError::LinkToSelf.into());
        }
        let our_account = LinkedAccount {
            user_key: ours.public_key().clone(),
            address: our_address.clone(),
        };
        let their_account = LinkedAccount {
            user_key: theirs.clone(),
            address: their_address.clone(),
        };
        let (body, second_proposes) = LinkBody::ordered(our_account, their_account, created_at);
        let signature = ours.sign(SIG_ACCOUNT_LINK, &[&body.signed_bytes(0)]);
        Ok(AccountLinkProposal {
            body,
            second_proposes,
            signature,
        })
    }

    /// Decodes a proposal and checks it, in this order: the structure
    /// front to back (the proposer byte when it is read), the two user keys
    /// (`InvalidKey`), the canonical order and the addresses
    /// (`InvalidField`), then the proposer's signature. A proposal that
    /// decodes is signed by its proposer.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::AccountLinkProposal`](crate::WireType::AccountLinkProposal)
    /// for malformed bytes (`InvalidField` `proposer` for a proposer byte
    /// other than 0 or 1, and `user_key` or `address` with `found` 2 for a
    /// second account whose key is not above the first's or whose address
    /// is the first's); `InvalidKey` with
    /// [`KeyKind::UserIdentity`](crate::KeyKind::UserIdentity);
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature) with [`SignedObject::AccountLink`].
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = AccountLinkProposalFrame::decode(bytes)?;
        let body = LinkBody::from_frame(&frame.body, WireType::AccountLinkProposal)?;
        body.verify(frame.second_proposes, &frame.signature)?;
        Ok(AccountLinkProposal {
            body,
            second_proposes: frame.second_proposes,
            signature: frame.signature,
        })
    }

    /// The encoding, for the person to carry to their other app.
    pub fn to_bytes(&self) -> Vec<u8> {
        AccountLinkProposalFrame {
            second_proposes: self.second_proposes,
            body: self.body.frame(),
            signature: self.signature,
        }
        .to_vec()
    }

    /// The two accounts, in canonical order (ascending by user key).
    pub fn accounts(&self) -> &[LinkedAccount; 2] {
        &self.body.accounts
    }

    /// The account that signed the proposal.
    pub fn proposer(&self) -> &LinkedAccount {
        let [first, second] = &self.body.accounts;
        if self.second_proposes { second } else { first }
    }

    /// The account asked to countersign.
    pub fn countersigner(&self) -> &LinkedAccount {
        let [first, second] = &self.body.accounts;
        if self.second_proposes { first } else { second }
    }

    /// When the proposal was made, as the proposer's app gave it.
    pub fn created_at(&self) -> u64 {
        self.body.created_at
    }

    /// Countersigns the proposal with the other account's user key pair,
    /// which makes the link.
    ///
    /// # Errors
    /// [`MisuseError::WrongLinkKey`] unless `theirs` is the key pair of the
    /// [`countersigner`](AccountLinkProposal::countersigner)'s key.
    ///
    /// # Security
    /// Countersign only a proposal the person brought from their own other
    /// app, after showing them the [`proposer`](AccountLinkProposal::proposer)'s
    /// address, and check that the countersigner's address is this
    /// account's: the link tells everyone it is shown to that the two
    /// accounts are one person.
    pub fn countersign(self, theirs: &UserIdentityKeyPair) -> crate::Result<AccountLink> {
        if *theirs.public_key() != self.countersigner().user_key {
            return Err(MisuseError::WrongLinkKey.into());
        }
        let signed = self.body.signed_bytes(0);
        let countersignature = theirs.sign(SIG_ACCOUNT_LINK, &[&signed]);
        let signatures = if self.second_proposes {
            [countersignature, self.signature]
        } else {
            [self.signature, countersignature]
        };
        Ok(AccountLink::new(self.body, signatures))
    }
}

impl fmt::Debug for AccountLinkProposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountLinkProposal")
            .field("proposer", self.proposer())
            .field("countersigner", self.countersigner())
            .field("created_at", &self.body.created_at)
            .finish_non_exhaustive()
    }
}

/// An account link, decoded and checked but not yet verified (PROTOCOL.md
/// §15.1): two accounts, each a user identity key and an address, in
/// ascending order of key, a creation time, and a signature by each key.
///
/// [`AccountLink::from_bytes`] checks the structure, the keys and the
/// order; [`AccountLink::verify`] checks both signatures, and only the
/// [`VerifiedAccountLink`] it returns says anything about the accounts.
/// For every accepted `b`, `AccountLink::from_bytes(b)?.to_bytes() == b`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountLink {
    body: LinkBody,
    signatures: [[u8; SIGNATURE_LEN]; 2],
    /// The encoding, signatures last: what `to_bytes` returns and what the
    /// hash covers.
    encoding: Vec<u8>,
}

impl AccountLink {
    fn new(body: LinkBody, signatures: [[u8; SIGNATURE_LEN]; 2]) -> Self {
        let encoding = AccountLinkFrame {
            body: body.frame(),
            signatures,
        }
        .to_vec();
        AccountLink {
            body,
            signatures,
            encoding,
        }
    }

    /// Decodes an account link and checks, in this order: the structure
    /// front to back, the two user keys (`InvalidKey`), then the canonical
    /// order and the addresses (`InvalidField`). The signatures are checked
    /// by [`AccountLink::verify`].
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::AccountLink`](crate::WireType::AccountLink) for
    /// malformed bytes (`InvalidField` `user_key` or `address` with `found`
    /// 2 for a second account whose key is not above the first's, equal
    /// keys included, or whose address is the first's), and `InvalidKey`
    /// with [`KeyKind::UserIdentity`](crate::KeyKind::UserIdentity).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = AccountLinkFrame::decode(bytes)?;
        let body = LinkBody::from_frame(&frame.body, WireType::AccountLink)?;
        Ok(AccountLink {
            body,
            signatures: frame.signatures,
            encoding: bytes.to_vec(),
        })
    }

    /// Checks both signatures, the first account's first: each user key
    /// signed `"KINSEAL-v1 account link\0" ‖` every byte before the
    /// signatures.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature) with [`SignedObject::AccountLink`].
    ///
    /// # Security
    /// Verification proves that the two keys signed the link, not that
    /// they are the keys of the accounts it names: before showing that two
    /// accounts are one person, check each key against the one you hold
    /// for that account (from its verified device list). An account you do
    /// not know gets no more from the link than its claim.
    pub fn verify(self) -> crate::Result<VerifiedAccountLink> {
        let [first, second] = &self.signatures;
        self.body.verify(false, first)?;
        self.body.verify(true, second)?;
        let hash = sha256(&[ACCOUNT_LINK_HASH, &self.encoding]);
        Ok(VerifiedAccountLink { link: self, hash })
    }

    /// The encoding, exactly as decoded or signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoding.clone()
    }

    /// The two accounts, in canonical order (ascending by user key).
    pub fn accounts(&self) -> &[LinkedAccount; 2] {
        &self.body.accounts
    }

    /// When the link was proposed, as the proposer's app gave it.
    pub fn created_at(&self) -> u64 {
        self.body.created_at
    }
}

impl fmt::Debug for AccountLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountLink")
            .field("accounts", &self.body.accounts)
            .field("created_at", &self.body.created_at)
            .finish_non_exhaustive()
    }
}

/// An account link whose two signatures have been checked, with its hash.
/// The only way to get one is [`AccountLink::verify`].
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedAccountLink {
    link: AccountLink,
    hash: [u8; ACCOUNT_LINK_HASH_LEN],
}

impl VerifiedAccountLink {
    /// The two accounts, in canonical order (ascending by user key).
    pub fn accounts(&self) -> &[LinkedAccount; 2] {
        self.link.accounts()
    }

    /// Whether `key` is the user key of one of the two accounts.
    pub fn involves(&self, key: &UserIdentityKey) -> bool {
        self.link.body.account(key).is_some()
    }

    /// The account linked to the one whose key is `key`, if `key` is one
    /// of the two.
    pub fn other(&self, key: &UserIdentityKey) -> Option<&LinkedAccount> {
        let [first, second] = &self.link.body.accounts;
        if first.user_key == *key {
            Some(second)
        } else if second.user_key == *key {
            Some(first)
        } else {
            None
        }
    }

    /// The link's hash: SHA-256 of `"KINSEAL-v1 account link hash\0" ‖`
    /// the whole encoding. A [`LinkRevocation`](super::LinkRevocation)
    /// names it.
    pub fn hash(&self) -> &[u8; ACCOUNT_LINK_HASH_LEN] {
        &self.hash
    }

    /// When the link was proposed.
    pub fn created_at(&self) -> u64 {
        self.link.created_at()
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.link.to_bytes()
    }

    /// The verified link.
    pub fn link(&self) -> &AccountLink {
        &self.link
    }

    /// Gives the link back.
    pub fn into_link(self) -> AccountLink {
        self.link
    }
}

impl fmt::Debug for VerifiedAccountLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedAccountLink")
            .field("accounts", &self.link.body.accounts)
            .field("created_at", &self.link.body.created_at)
            .field("hash", &Short(&self.hash))
            .finish()
    }
}
