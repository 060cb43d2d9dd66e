//! Trust, recovery and membership changes, through the account: accepting
//! a changed key, verifying one, decryption-error receipts, resetting a
//! session, and adding, removing or leaving group members.

use kinseal::client as kc;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::account::Account;
use crate::error::{Failure, Result};
use crate::groups::group_id;
use crate::js::{self, seconds};
use crate::policy::{known_identity, known_user};
use crate::rng::Rng;
use crate::values;

/// An identity key (32 bytes) from the app's bytes.
fn identity_key(bytes: &[u8]) -> Result<kinseal::IdentityKey> {
    Ok(kinseal::IdentityKey::from_bytes(&js::key_array(
        bytes,
        "an identity key",
    )?)?)
}

/// A user identity key (32 bytes) from the app's bytes.
pub(crate) fn user_key(bytes: &[u8]) -> Result<kinseal::UserIdentityKey> {
    Ok(kinseal::UserIdentityKey::from_bytes(&js::key_array(
        bytes,
        "a user identity key",
    )?)?)
}

#[wasm_bindgen]
impl Account {
    /// Accepts `key` (32 bytes) as `peer`'s identity key, after a
    /// `Trust` error of kind `IdentityChanged`: sessions with the old key
    /// are closed, and the refused message decrypts now.
    #[wasm_bindgen(js_name = acceptIdentity)]
    pub fn accept_identity(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        key: &[u8],
        now: f64,
    ) -> Result<()> {
        let (peer, key, now) = (js::device(&peer)?, identity_key(key)?, seconds(now)?);
        Ok(self.a()?.accept_identity(&mut Rng, &peer, &key, now)?)
    }

    /// Accepts a user's new user key, after a `Trust` error of kind
    /// `UserKeyChanged`, with the device list it signed.
    #[wasm_bindgen(js_name = acceptUserIdentity, unchecked_return_type = "DeviceListChange")]
    pub fn accept_user_identity(&self, list: &[u8], now: f64) -> Result<JsValue> {
        let now = seconds(now)?;
        let change = self.a()?.accept_user_identity(&mut Rng, list, now)?;
        Ok(values::device_list_change(&change))
    }

    /// Marks `user`'s user key `key` (32 bytes) as verified: the safety
    /// number matched.
    #[wasm_bindgen(js_name = markUserVerified)]
    pub fn mark_user_verified(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        key: &[u8],
    ) -> Result<()> {
        let (user, key) = (js::user(&user)?, user_key(key)?);
        Ok(self.a()?.mark_user_verified(&mut Rng, &user, &key)?)
    }

    /// Removes one of this person's devices from the list (a lost phone):
    /// publish the list it returns.
    #[wasm_bindgen(js_name = removeDevice, unchecked_return_type = "DeviceList")]
    pub fn remove_device(
        &self,
        #[wasm_bindgen(js_name = deviceId)] device_id: u32,
        now: f64,
    ) -> Result<JsValue> {
        let now = seconds(now)?;
        let list = self.a()?.remove_device(&mut Rng, device_id, now)?;
        Ok(values::device_list(&list))
    }

    /// `peer`'s identity key on record, or undefined.
    #[wasm_bindgen(js_name = peerIdentity, unchecked_return_type = "KnownIdentity | undefined")]
    pub fn peer_identity(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
    ) -> Result<JsValue> {
        let peer = js::device(&peer)?;
        let known = self.a()?.peer_identity(&peer)?;
        Ok(known.as_ref().map_or(JsValue::UNDEFINED, known_identity))
    }

    /// `user`'s user key and latest device list on record, or undefined.
    #[wasm_bindgen(js_name = peerUser, unchecked_return_type = "KnownUser | undefined")]
    pub fn peer_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
    ) -> Result<JsValue> {
        let user = js::user(&user)?;
        let known = self.a()?.peer_user(&user)?;
        Ok(known.as_ref().map_or(JsValue::UNDEFINED, known_user))
    }

    /// The devices of `user` this account has sessions with.
    #[wasm_bindgen(js_name = devicesWithSessions, unchecked_return_type = "DeviceAddress[]")]
    pub fn devices_with_sessions(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
    ) -> Result<JsValue> {
        let user = js::user(&user)?;
        Ok(js::array(
            self.a()?.devices_with_sessions(&user)?.iter(),
            js::device_out,
        ))
    }

    /// Deletes every session with `peer` (a device removed from its
    /// user's list): whether there was one.
    #[wasm_bindgen(js_name = forgetDevice)]
    pub fn forget_device(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
    ) -> Result<bool> {
        let peer = js::device(&peer)?;
        Ok(self.a()?.forget_device(&peer)?)
    }

    // --- recovery -----------------------------------------------------

    /// Closes the session with `peer`, so that the next message starts a
    /// new one: whether there was one.
    #[wasm_bindgen(js_name = resetSession)]
    pub fn reset_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        now: f64,
    ) -> Result<bool> {
        let (peer, now) = (js::device(&peer)?, seconds(now)?);
        Ok(self.a()?.reset_session(&mut Rng, &peer, now)?)
    }

    /// Decrypts an envelope's bytes; when that fails, also makes the
    /// signed decryption-error receipt the error calls for (PROTOCOL.md
    /// §14), for the app to send back to the envelope's sender:
    /// `{ decrypted }` or `{ error, receipt? }`.
    #[wasm_bindgen(
        js_name = decryptEnvelopeOrReceipt,
        unchecked_return_type = "{ decrypted: Decrypted } | { error: KinsealError; receipt?: Uint8Array }"
    )]
    pub fn decrypt_envelope_or_receipt(&self, envelope: &[u8], now: f64) -> Result<JsValue> {
        let now = seconds(now)?;
        let envelope = kinseal::Envelope::from_bytes(envelope)?;
        let o = js::object();
        let a = self.a()?;
        match a.decrypt_envelope(&mut Rng, &envelope, now) {
            Ok(d) => js::set(&o, "decrypted", values::decrypted(envelope.sender(), &d)),
            Err(error) => {
                let receipt = a.decryption_error_receipt(&envelope, &error, now)?;
                js::set(&o, "error", JsValue::from(Failure::from(error)));
                if let Some(r) = receipt {
                    js::set(&o, "receipt", js::bytes(&r.to_bytes()));
                }
            }
        }
        Ok(o.into())
    }

    /// Handles a decryption-error receipt from a peer's device: the
    /// device, whether its session was closed here (`false`: it was
    /// already replaced), and `failed`, the message it could not decrypt
    /// (compare it with `failedMessageOf(envelope.message)` of the
    /// envelopes sent, and send what that one held again). The next
    /// message to it starts a new session.
    #[wasm_bindgen(
        js_name = handleReceipt,
        unchecked_return_type = "ReceiptOutcome"
    )]
    pub fn handle_receipt(&self, receipt: &[u8], now: f64) -> Result<JsValue> {
        let now = seconds(now)?;
        let (device, closed, failed) = match self.a()?.handle_receipt(&mut Rng, receipt, now)? {
            kc::ReceiptOutcome::SessionClosed { device, failed } => (device, true, failed),
            kc::ReceiptOutcome::AlreadyReplaced { device, failed } => (device, false, failed),
            _ => {
                return Err(Failure {
                    name: "Other",
                    kind: String::new(),
                    detail: "a receipt outcome this version does not know".into(),
                });
            }
        };
        let o = js::object();
        js::set(&o, "device", js::device_out(&device));
        js::set(&o, "sessionClosed", closed);
        js::set(&o, "failed", values::failed_message(&failed));
        Ok(o.into())
    }

    // --- group membership -------------------------------------------------

    /// Adds `users` to `group` (admins only): the envelopes to send.
    #[wasm_bindgen(js_name = addGroupMembers, unchecked_return_type = "FanOut")]
    pub fn add_group_members(
        &self,
        group: &[u8],
        #[wasm_bindgen(unchecked_param_type = "UserAddress[]")] users: JsValue,
        now: f64,
    ) -> Result<JsValue> {
        let (group, now) = (group_id(group)?, seconds(now)?);
        let users = js::each(&users, "users", js::user)?;
        let f = self.a()?.add_group_members(&mut Rng, &group, &users, now)?;
        Ok(values::fan_out(&f))
    }

    /// Removes `users` from `group` (admins only): the envelopes to send.
    #[wasm_bindgen(js_name = removeGroupMembers, unchecked_return_type = "FanOut")]
    pub fn remove_group_members(
        &self,
        group: &[u8],
        #[wasm_bindgen(unchecked_param_type = "UserAddress[]")] users: JsValue,
        now: f64,
    ) -> Result<JsValue> {
        let (group, now) = (group_id(group)?, seconds(now)?);
        let users = js::each(&users, "users", js::user)?;
        let f = self
            .a()?
            .remove_group_members(&mut Rng, &group, &users, now)?;
        Ok(values::fan_out(&f))
    }

    /// Leaves `group` (the last admin cannot): the envelopes to send. This
    /// device sends and reads nothing more in it.
    #[wasm_bindgen(js_name = leaveGroup, unchecked_return_type = "FanOut")]
    pub fn leave_group(&self, group: &[u8], now: f64) -> Result<JsValue> {
        let (group, now) = (group_id(group)?, seconds(now)?);
        Ok(values::fan_out(
            &self.a()?.leave_group(&mut Rng, &group, now)?,
        ))
    }
}

/// The locator of a pairwise message (`Envelope.message`), to find the
/// one a receipt names (`handleReceipt(..).failed`).
#[wasm_bindgen(js_name = failedMessageOf, unchecked_return_type = "FailedMessage")]
pub fn failed_message_of(message: &[u8]) -> Result<JsValue> {
    Ok(values::failed_message(&kinseal::FailedMessage::of(
        message,
    )?))
}
