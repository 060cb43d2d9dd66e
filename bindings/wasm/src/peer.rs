//! The `Peer` class: one device an account talks to, its address checked
//! once (`account.peer(address)`), for the calls an app makes per
//! message: no address object is read on each call.

use std::rc::Rc;

use js_sys::Function;
use kinseal::client as kc;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::account::{Account, Shared};
use crate::error::{self, Result};
use crate::js::{self, seconds};
use crate::rng::Rng;
use crate::values;

/// One device of another person (or of this person), as seen from one
/// account. It shares the account: every call is one store transaction
/// of that account, exactly as the `Account` method of the same name
/// with this address. Free it with `.free()` when done (the account's
/// memory stays until both are freed).
#[wasm_bindgen]
pub struct Peer {
    shared: Rc<Shared>,
    address: kc::DeviceAddress,
}

#[wasm_bindgen]
impl Account {
    /// The device at `address`, checked once, for per-message calls.
    pub fn peer(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] address: JsValue,
    ) -> Result<Peer> {
        Ok(Peer {
            address: js::device(&address)?,
            shared: self.shared.clone(),
        })
    }
}

#[wasm_bindgen]
impl Peer {
    /// The device's address.
    #[wasm_bindgen(unchecked_return_type = "DeviceAddress")]
    pub fn address(&self) -> JsValue {
        js::device_out(&self.address)
    }

    /// Encrypts `plaintext` to this device: the message bytes
    /// (`Account.encrypt`).
    pub fn encrypt(&self, plaintext: &[u8], now: f64) -> Result<Vec<u8>> {
        let now = seconds(now)?;
        let a = self.shared.enter()?;
        Ok(a.encrypt(&mut Rng, &self.address, plaintext, now)?)
    }

    /// Decrypts message bytes that came from this device
    /// (`Account.decrypt`).
    #[wasm_bindgen(unchecked_return_type = "Decrypted")]
    pub fn decrypt(&self, message: &[u8], now: f64) -> Result<JsValue> {
        let now = seconds(now)?;
        let a = self.shared.enter()?;
        let d = a.decrypt(&mut Rng, &self.address, message, now)?;
        Ok(values::decrypted(&self.address, &d))
    }

    /// Decrypts message bytes from this device and hands the result to
    /// `deliver` inside the same transaction (`Account.decryptWith`).
    #[wasm_bindgen(js_name = decryptWith, unchecked_return_type = "Decrypted")]
    pub fn decrypt_with(
        &self,
        message: &[u8],
        now: f64,
        #[wasm_bindgen(unchecked_param_type = "(message: Decrypted) => void")] deliver: &Function,
    ) -> core::result::Result<JsValue, JsValue> {
        decrypt_with(&self.shared, &self.address, message, now, deliver)
    }

    /// Decrypts a group message this device sent (`Account.groupDecrypt`).
    #[wasm_bindgen(js_name = groupDecrypt, unchecked_return_type = "GroupDecrypted")]
    pub fn group_decrypt(&self, message: &[u8]) -> Result<JsValue> {
        let a = self.shared.enter()?;
        let d = a.group_decrypt(&mut Rng, &self.address, message)?;
        Ok(values::group_decrypted(&d))
    }
}

/// `decryptWith` of an account or a peer: `deliver` gets the decrypted
/// message inside the transaction; if it throws (or returns a Promise),
/// nothing the decryption changed is stored and a `Callback` error with
/// its exception as `cause` is thrown.
pub(crate) fn decrypt_with(
    shared: &Shared,
    peer: &kc::DeviceAddress,
    message: &[u8],
    now: f64,
    deliver: &Function,
) -> core::result::Result<JsValue, JsValue> {
    let now = seconds(now)?;
    let a = shared.enter()?;
    let delivered = a.decrypt_with(&mut Rng, peer, message, now, |d| {
        let value = values::decrypted(peer, d);
        error::synchronous(deliver.call1(&JsValue::NULL, &value)?, "deliver")?;
        Ok::<_, JsValue>(value)
    });
    match delivered.map_err(error::Failure::from)? {
        Ok((_, value)) => Ok(value),
        Err(cause) => Err(error::callback(cause)),
    }
}
