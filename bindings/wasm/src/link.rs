//! Linking a new device of a person by QR code: the new device's side
//! (`LinkRequest`, `Provisioned`, `Account.createLinked`) and the
//! existing device's (`Account.linkDevice`).

use std::sync::Arc;

use kinseal::client::{self as kc, MemoryStore};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::account::Account;
use crate::error::{Failure, Result};
use crate::js::{self, seconds};
use crate::policy::Options;
use crate::rng::Rng;
use crate::values;

/// What a new device shows as a QR code to be linked, and the keys to
/// open the answer with (they stay in the module). Used once.
#[wasm_bindgen]
pub struct LinkRequest {
    code: Vec<u8>,
    request: Option<kinseal::LinkRequest>,
}

impl Default for LinkRequest {
    fn default() -> Self {
        LinkRequest::new()
    }
}

#[wasm_bindgen]
impl LinkRequest {
    /// A new request: the new device's identity key and a one-use key.
    #[wasm_bindgen(constructor)]
    pub fn new() -> LinkRequest {
        let request = kinseal::LinkRequest::new(&mut Rng);
        LinkRequest {
            code: request.code().to_bytes(),
            request: Some(request),
        }
    }

    /// The bytes to show as a QR code (public).
    pub fn code(&self) -> Vec<u8> {
        self.code.clone()
    }

    /// Opens the provisioning message the existing device sent. The
    /// request is used up, whether this succeeds or not (start again with
    /// a new one). Show the user `Provisioned.deviceAddress()` to confirm
    /// before creating the account.
    pub fn open(
        &mut self,
        #[wasm_bindgen(js_name = provisioningMessage)] provisioning_message: &[u8],
    ) -> Result<Provisioned> {
        let request = self
            .request
            .take()
            .ok_or_else(|| Failure::invalid("this link request was already used"))?;
        Ok(Provisioned {
            provisioned: Some(request.open(provisioning_message)?),
        })
    }
}

/// What a new device received when linked: the person's user key and its
/// own keys (in the module). `Account.createLinked` uses it up.
#[wasm_bindgen]
pub struct Provisioned {
    provisioned: Option<kinseal::Provisioned>,
}

impl Provisioned {
    fn get(&self) -> Result<&kinseal::Provisioned> {
        self.provisioned
            .as_ref()
            .ok_or_else(|| Failure::invalid("this provisioning was already used"))
    }
}

#[wasm_bindgen]
impl Provisioned {
    /// The address the new device will have.
    #[wasm_bindgen(js_name = deviceAddress, unchecked_return_type = "DeviceAddress")]
    pub fn device_address(&self) -> Result<JsValue> {
        Ok(js::device_out(&self.get()?.device_address()))
    }

    /// The device list that names it.
    #[wasm_bindgen(js_name = deviceList, unchecked_return_type = "DeviceList")]
    pub fn device_list(&self) -> Result<JsValue> {
        Ok(values::device_list(self.get()?.device_list()))
    }
}

#[wasm_bindgen]
impl Account {
    /// A linked device's account, from what its `LinkRequest` opened
    /// (`provisioned` is used up), sealed under the 32-byte `storageKey`
    /// with id `keyId`. Publish its prekeys; write `takeChanges()`.
    /// `options.trustPolicy`: the app's trust policy.
    #[wasm_bindgen(js_name = createLinked)]
    pub fn create_linked(
        provisioned: &mut Provisioned,
        #[wasm_bindgen(js_name = storageKey)] storage_key: &[u8],
        #[wasm_bindgen(js_name = keyId)] key_id: u32,
        now: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "AccountOptions")] options: JsValue,
    ) -> Result<Account> {
        let now = seconds(now)?;
        let options = Options::from_js(&options, false)?;
        let keyring = options.keyring(storage_key, key_id)?;
        let taken = provisioned
            .provisioned
            .take()
            .ok_or_else(|| Failure::invalid("this provisioning was already used"))?;
        let store = Arc::new(MemoryStore::journaled());
        let inner = kc::Account::create_linked(store.clone(), keyring, &mut Rng, taken, now)?;
        Ok(Account::wrap(inner, store, options))
    }

    /// Adds a new device of this person, as `deviceId`, from the code its
    /// `LinkRequest` showed (scanned bytes): the device list that names it
    /// (publish it) and the provisioning message (relay it to the new
    /// device, which opens it with its request).
    #[wasm_bindgen(
        js_name = linkDevice,
        unchecked_return_type = "{ deviceList: DeviceList; provisioningMessage: Uint8Array }"
    )]
    pub fn link_device(
        &self,
        code: &[u8],
        #[wasm_bindgen(js_name = deviceId)] device_id: u32,
        now: f64,
    ) -> Result<JsValue> {
        let now = seconds(now)?;
        let code = kinseal::LinkCode::from_bytes(code)?;
        let linked = self.a()?.link_device(&mut Rng, &code, device_id, now)?;
        let o = js::object();
        js::set(&o, "deviceList", values::device_list(linked.device_list()));
        js::set(
            &o,
            "provisioningMessage",
            js::bytes(linked.provisioning_message()),
        );
        Ok(o.into())
    }
}
