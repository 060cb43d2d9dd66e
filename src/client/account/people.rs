//! What an app shows about people: the safety number of two people, and
//! links between two accounts of one person across apps (PROTOCOL.md §15).

use super::Account;
use crate::address::UserAddress;
use crate::client::SafetyNumber;
use crate::client::store::ClientStore;
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, TrustError};
use crate::{
    AccountLink, AccountLinkProposal, LinkRevocation, UserIdentityKey, VerifiedAccountLink,
};

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// The safety number of this account's user and a peer user (version
    /// 2, PROTOCOL.md §11: of the two user keys), for the two people to
    /// compare; `None` before the peer's user key is on record. It is the
    /// same in every app and on every device of either person, and does
    /// not change when either adds or removes a device; it changes only
    /// with a user key.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn user_safety_number(&self, peer: &UserAddress) -> crate::Result<Option<SafetyNumber>> {
        let mut txn = self.store.transaction()?;
        Ok(self
            .load_user(&mut txn, peer)?
            .map(|k| SafetyNumber::for_users(self.user.public_key(), k.key())))
    }

    /// Proposes a link between this account and another account of the
    /// same person in another app (PROTOCOL.md §15.2), signed by this
    /// account's user key: carry the proposal's bytes to the other app
    /// (which shows `their_key` and `their_address`), which countersigns
    /// it with [`Account::countersign_account_link`].
    ///
    /// # Errors
    /// [`MisuseError::LinkToSelf`](crate::MisuseError::LinkToSelf) for this
    /// account's own key or address.
    ///
    /// # Security
    /// Nothing kinseal sends carries a link: only people the person shows
    /// it to learn that the two accounts are one person.
    pub fn propose_account_link(
        &self,
        their_key: &UserIdentityKey,
        their_address: &UserAddress,
        now: u64,
    ) -> crate::Result<AccountLinkProposal> {
        AccountLinkProposal::new(
            &self.user,
            self.address.user(),
            their_key,
            their_address,
            now,
        )
    }

    /// Countersigns a proposal made by another account of this person,
    /// which names this account: the link, signed by both user keys, to
    /// show contacts.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) or
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    /// for a proposal that does not verify;
    /// [`AccountError::IdentityMismatch`] unless it names this account's
    /// user key and address as the one to countersign.
    pub fn countersign_account_link(&self, proposal: &[u8]) -> crate::Result<AccountLink> {
        let proposal = AccountLinkProposal::from_bytes(proposal)?;
        let ours = proposal.countersigner();
        if ours.user_key() != self.user.public_key() || ours.address() != self.address.user() {
            return Err(AccountError::IdentityMismatch.into());
        }
        proposal.countersign(&self.user)
    }

    /// Revokes a link this account is part of: the revocation to show the
    /// contacts who saw the link.
    ///
    /// # Errors
    /// As [`LinkRevocation::new`]: the link must verify and name this
    /// account's user key.
    pub fn revoke_account_link(&self, link: &[u8], now: u64) -> crate::Result<LinkRevocation> {
        let link = AccountLink::from_bytes(link)?.verify()?;
        LinkRevocation::new(&link, &self.user, now)
    }

    /// Checks a link a contact showed: it verifies, and both accounts it
    /// names are users whose keys are on record here under those
    /// addresses, so the app may show the two as one person. A link whose
    /// revocation the app has seen must not be shown (check it with
    /// [`LinkRevocation::verify`]).
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) or
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    /// for a link that does not verify; [`AccountError::NoDeviceList`] when
    /// an account it names is not on record (fetch its device list first);
    /// [`TrustError::UserKeyChanged`] when one is on record under another
    /// user key than the link's; a [`StorageError`](crate::StorageError).
    pub fn check_account_link(&self, link: &[u8]) -> crate::Result<VerifiedAccountLink> {
        let link = AccountLink::from_bytes(link)?.verify()?;
        let mut txn = self.store.transaction()?;
        for account in link.accounts() {
            let user = account.address();
            let known = self
                .load_user(&mut txn, user)?
                .ok_or_else(|| AccountError::NoDeviceList { user: user.clone() })?;
            if known.key() != account.user_key() {
                return Err(TrustError::UserKeyChanged {
                    user: user.clone(),
                    old: Box::new(known.key().clone()),
                    new: Box::new(account.user_key().clone()),
                }
                .into());
            }
        }
        Ok(link)
    }
}
