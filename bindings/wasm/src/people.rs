//! Links between two accounts of one person in two apps (PROTOCOL.md
//! §15), as `bindings/ffi/src/people.rs` has them: proposing one in one
//! app, countersigning it in the other, showing it to contacts, who check
//! it, and revoking it.

use kinseal::{AccountLink, AccountLinkProposal, LinkRevocation};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::account::Account;
use crate::error::Result;
use crate::js::{self, seconds};
use crate::trust::user_key;

/// A `LinkedAccount`: `{ user, userKey }`.
fn linked(a: &kinseal::LinkedAccount) -> JsValue {
    let o = js::object();
    js::set(&o, "user", js::user_out(a.address()));
    js::set(&o, "userKey", js::bytes(&a.user_key().to_bytes()));
    o.into()
}

/// Decodes a proposal another app of this person made and checks its
/// proposer's signature, for the app to show before it calls
/// `countersignAccountLink`: `{ proposer, countersigner, createdAt }`.
#[wasm_bindgen(
    js_name = readAccountLinkProposal,
    unchecked_return_type = "AccountLinkProposalInfo"
)]
pub fn read_account_link_proposal(proposal: &[u8]) -> Result<JsValue> {
    let p = AccountLinkProposal::from_bytes(proposal)?;
    let o = js::object();
    js::set(&o, "proposer", linked(p.proposer()));
    js::set(&o, "countersigner", linked(p.countersigner()));
    js::set(&o, "createdAt", js::number(p.created_at()));
    Ok(o.into())
}

/// Checks that `revocation` revokes `link` (both as bytes) and is signed
/// by one of its two accounts: if this returns, stop showing the two as
/// one person. Throws otherwise.
#[wasm_bindgen(js_name = checkLinkRevocation)]
pub fn check_link_revocation(revocation: &[u8], link: &[u8]) -> Result<()> {
    let link = AccountLink::from_bytes(link)?.verify()?;
    Ok(LinkRevocation::from_bytes(revocation)?.verify(&link)?)
}

#[wasm_bindgen]
impl Account {
    /// Proposes a link between this account and this person's account
    /// `theirAddress` (user key `theirKey`, 32 bytes) in another app: the
    /// bytes to carry to that app, which countersigns them.
    #[wasm_bindgen(js_name = proposeAccountLink)]
    pub fn propose_account_link(
        &self,
        #[wasm_bindgen(js_name = theirKey)] their_key: &[u8],
        #[wasm_bindgen(js_name = theirAddress, unchecked_param_type = "UserAddress")]
        their_address: JsValue,
        now: f64,
    ) -> Result<Vec<u8>> {
        let (key, address, now) = (
            user_key(their_key)?,
            js::user(&their_address)?,
            seconds(now)?,
        );
        Ok(self
            .a()?
            .propose_account_link(&key, &address, now)?
            .to_bytes())
    }

    /// Countersigns a proposal that names this account (else `Account`,
    /// kind `IdentityMismatch`): the link's bytes, to show contacts. Show
    /// the person `readAccountLinkProposal`'s proposer first.
    #[wasm_bindgen(js_name = countersignAccountLink)]
    pub fn countersign_account_link(&self, proposal: &[u8]) -> Result<Vec<u8>> {
        Ok(self.a()?.countersign_account_link(proposal)?.to_bytes())
    }

    /// Checks a link a contact showed: it verifies, and both its accounts
    /// are users on record here with those keys, so the app may show the
    /// two as one person: `{ accounts, createdAt, hash }`. A link whose
    /// revocation the app has seen must not be shown
    /// (`checkLinkRevocation`).
    #[wasm_bindgen(js_name = checkAccountLink, unchecked_return_type = "AccountLinkInfo")]
    pub fn check_account_link(&self, link: &[u8]) -> Result<JsValue> {
        let l = self.a()?.check_account_link(link)?;
        let o = js::object();
        js::set(&o, "accounts", js::array(l.accounts(), linked));
        js::set(&o, "createdAt", js::number(l.created_at()));
        js::set(&o, "hash", js::bytes(&l.hash()[..]));
        Ok(o.into())
    }

    /// Revokes a link this account is part of: the revocation's bytes, to
    /// show the contacts who saw the link.
    #[wasm_bindgen(js_name = revokeAccountLink)]
    pub fn revoke_account_link(&self, link: &[u8], now: f64) -> Result<Vec<u8>> {
        let now = seconds(now)?;
        Ok(self.a()?.revoke_account_link(link, now)?.to_bytes())
    }
}
