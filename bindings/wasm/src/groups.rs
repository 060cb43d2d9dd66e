//! Groups, through the account: creating them, sending and reading
//! group messages (PROTOCOL.md §16–17).

use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::account::Account;
use crate::error::{Failure, Result};
use crate::js::{self, seconds};
use crate::rng::Rng;
use crate::values;

/// A group id from the app's bytes (32 bytes).
pub(crate) fn group_id(bytes: &[u8]) -> Result<kinseal::GroupId> {
    Ok(kinseal::GroupId::from_bytes(js::key_array(
        bytes,
        "a group id",
    )?))
}

#[wasm_bindgen]
impl Account {
    /// Creates a group of this person and `members`: its id, and the
    /// welcome envelopes to send.
    #[wasm_bindgen(js_name = createGroup, unchecked_return_type = "GroupCreated")]
    pub fn create_group(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress[]")] members: JsValue,
        now: f64,
    ) -> Result<JsValue> {
        let members = js::each(&members, "members", js::user)?;
        let now = seconds(now)?;
        let (group, fan_out) = self.a()?.create_group(&mut Rng, &members, now)?;
        let o = js::object();
        js::set(&o, "group", js::bytes(group.as_bytes()));
        js::set(&o, "fanOut", values::fan_out(&fan_out));
        Ok(o.into())
    }

    /// Encrypts `plaintext` to `group`: the group message and the
    /// sender-key envelopes to send before it.
    #[wasm_bindgen(js_name = groupSend, unchecked_return_type = "GroupSend")]
    pub fn group_send(&self, group: &[u8], plaintext: &[u8], now: f64) -> Result<JsValue> {
        let (group, now) = (group_id(group)?, seconds(now)?);
        let sent = self.a()?.group_send(&mut Rng, &group, plaintext, now)?;
        let o = js::object();
        js::set(&o, "message", js::bytes(sent.message()));
        js::set(&o, "distributions", values::fan_out(sent.distributions()));
        Ok(o.into())
    }

    /// Decrypts a group message from `sender`.
    #[wasm_bindgen(js_name = groupDecrypt, unchecked_return_type = "GroupDecrypted")]
    pub fn group_decrypt(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] sender: JsValue,
        message: &[u8],
    ) -> Result<JsValue> {
        let sender = js::device(&sender)?;
        let d = self.a()?.group_decrypt(&mut Rng, &sender, message)?;
        Ok(values::group_decrypted(&d))
    }

    /// `group`'s state on this device, or undefined if it has not the
    /// group.
    #[wasm_bindgen(js_name = groupState, unchecked_return_type = "GroupState | undefined")]
    pub fn group_state(&self, group: &[u8]) -> Result<JsValue> {
        let group = group_id(group)?;
        Ok(match self.a()?.group_state(&group)? {
            Some(s) => values::group_state(&s),
            None => JsValue::UNDEFINED,
        })
    }

    /// The ids of the groups this device has.
    #[wasm_bindgen(unchecked_return_type = "Uint8Array[]")]
    pub fn groups(&self) -> Result<JsValue> {
        let groups = self.a()?.groups()?;
        Ok(js::array(groups.iter(), |g| js::bytes(g.as_bytes())))
    }

    /// Applies `ops` to `group` in one change, in order (admins only; a
    /// member may remove only itself): the envelopes to send. If one op
    /// is refused, nothing changed.
    #[wasm_bindgen(js_name = changeGroup, unchecked_return_type = "FanOut")]
    pub fn change_group(
        &self,
        group: &[u8],
        #[wasm_bindgen(unchecked_param_type = "GroupOp[]")] ops: JsValue,
        now: f64,
    ) -> Result<JsValue> {
        let (group, now) = (group_id(group)?, seconds(now)?);
        let ops = js::each(&ops, "ops", group_op)?;
        let f = self.a()?.change_group(&mut Rng, &group, ops, now)?;
        Ok(values::fan_out(&f))
    }

    /// Deletes everything this device holds of `group` (after leaving
    /// it, or being removed): whether it had the group.
    #[wasm_bindgen(js_name = forgetGroup)]
    pub fn forget_group(&self, group: &[u8]) -> Result<bool> {
        let group = group_id(group)?;
        Ok(self.a()?.forget_group(&group)?)
    }
}

/// The role from `admin` (a boolean; for an `Add`, undefined is a
/// member).
fn role(value: &JsValue, optional: bool) -> Result<kinseal::GroupRole> {
    let admin = js::field(value, "admin", "a group op")?;
    match admin.as_bool() {
        Some(true) => Ok(kinseal::GroupRole::Admin),
        Some(false) => Ok(kinseal::GroupRole::Member),
        None if optional && admin.is_undefined() => Ok(kinseal::GroupRole::Member),
        None => Err(Failure::invalid("a group op's admin must be a boolean")),
    }
}

/// A `GroupOp` from `{ op: "Add", user, userKey, admin? }`,
/// `{ op: "Remove", userKey }` or `{ op: "SetRole", userKey, admin }`.
fn group_op(value: &JsValue) -> Result<kinseal::GroupOp> {
    let key = js::bytes_field(value, "userKey", "a group op")?;
    let key = kinseal::UserIdentityKey::from_bytes(&js::key_array(&key, "a user identity key")?)?;
    match js::string_field(value, "op", "a group op")?.as_str() {
        "Add" => Ok(kinseal::GroupOp::Add {
            key,
            address: js::user(&js::field(value, "user", "a group op")?)?,
            role: role(value, true)?,
        }),
        "Remove" => Ok(kinseal::GroupOp::Remove { key }),
        "SetRole" => Ok(kinseal::GroupOp::SetRole {
            key,
            role: role(value, false)?,
        }),
        other => Err(Failure::invalid(format!(
            "a group op's op must be \"Add\", \"Remove\" or \"SetRole\", not {other:?}"
        ))),
    }
}
