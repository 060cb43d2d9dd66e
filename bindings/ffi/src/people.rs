//! Links between two accounts of one person in two apps (PROTOCOL.md §15):
//! proposing one in one app, countersigning it in the other, showing it
//! to contacts, who check it, and revoking it.

use kinseal::{AccountLink, AccountLinkProposal, LinkRevocation};

use crate::account::{Account, with};
use crate::error::Result;
use crate::types::{self, UserAddress};

/// One of the two accounts a link or a proposal names.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LinkedAccount {
    /// Where the account is reached.
    pub user: UserAddress,
    /// Its user identity key (32 bytes).
    pub user_key: Vec<u8>,
}

impl From<&kinseal::LinkedAccount> for LinkedAccount {
    fn from(a: &kinseal::LinkedAccount) -> Self {
        LinkedAccount {
            user: a.address().into(),
            user_key: a.user_key().to_bytes().to_vec(),
        }
    }
}

/// A proposal, as the other app shows it before countersigning: signed
/// by `proposer`, naming `countersigner` (which must be that app's own
/// account).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountLinkProposalInfo {
    /// The account that proposed the link and signed the proposal.
    pub proposer: LinkedAccount,
    /// The account asked to countersign it.
    pub countersigner: LinkedAccount,
    /// When it was made (seconds; as the proposer said).
    pub created_at: u64,
}

/// A link that verified: both accounts signed it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountLinkInfo {
    /// The two accounts, in the link's canonical order.
    pub accounts: Vec<LinkedAccount>,
    /// When it was made (seconds).
    pub created_at: u64,
    /// The link's hash (what a revocation names).
    pub hash: Vec<u8>,
}

impl From<&kinseal::VerifiedAccountLink> for AccountLinkInfo {
    fn from(l: &kinseal::VerifiedAccountLink) -> Self {
        AccountLinkInfo {
            accounts: l.accounts().iter().map(LinkedAccount::from).collect(),
            created_at: l.created_at(),
            hash: l.hash().to_vec(),
        }
    }
}

/// Decodes a proposal another app of this person made, checking its
/// proposer's signature, for the app to show before it calls
/// `Account.countersign_account_link`.
#[uniffi::export]
pub fn read_account_link_proposal(proposal: Vec<u8>) -> Result<AccountLinkProposalInfo> {
    let p = AccountLinkProposal::from_bytes(&proposal)?;
    Ok(AccountLinkProposalInfo {
        proposer: p.proposer().into(),
        countersigner: p.countersigner().into(),
        created_at: p.created_at(),
    })
}

/// Checks that `revocation` revokes `link` (both as bytes) and is signed
/// by one of its two accounts: if this returns, stop showing the two as
/// one person.
#[uniffi::export]
pub fn check_link_revocation(revocation: Vec<u8>, link: Vec<u8>) -> Result<()> {
    let link = AccountLink::from_bytes(&link)?.verify()?;
    Ok(LinkRevocation::from_bytes(&revocation)?.verify(&link)?)
}

#[uniffi::export]
impl Account {
    /// Proposes a link between this account and this person's account
    /// `their_address` (user key `their_key`) in another app: the bytes to
    /// carry to that app, which countersigns them.
    pub fn propose_account_link(
        &self,
        their_key: Vec<u8>,
        their_address: UserAddress,
        now: u64,
    ) -> Result<Vec<u8>> {
        let (key, address) = (types::user_key(&their_key)?, their_address.to_core()?);
        with!(self, a => Ok(a.propose_account_link(&key, &address, now)?.to_bytes()))
    }

    /// Countersigns a proposal that names this account: the link's bytes,
    /// to show contacts. Show the person `read_account_link_proposal`'s
    /// proposer first.
    pub fn countersign_account_link(&self, proposal: Vec<u8>) -> Result<Vec<u8>> {
        with!(self, a => Ok(a.countersign_account_link(&proposal)?.to_bytes()))
    }

    /// Checks a link a contact showed: it verifies, and both its accounts
    /// are users on record here with those keys, so the app may show the
    /// two as one person.
    pub fn check_account_link(&self, link: Vec<u8>) -> Result<AccountLinkInfo> {
        with!(self, a => Ok(AccountLinkInfo::from(&a.check_account_link(&link)?)))
    }

    /// Revokes a link this account is part of: the revocation's bytes, to
    /// show the contacts who saw the link.
    pub fn revoke_account_link(&self, link: Vec<u8>, now: u64) -> Result<Vec<u8>> {
        with!(self, a => Ok(a.revoke_account_link(&link, now)?.to_bytes()))
    }
}
