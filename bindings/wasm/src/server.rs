//! A prekey directory in memory, for tests and demos that run the
//! server's part in the same page or process (a real server keeps its
//! directory in SQLite or PostgreSQL, through the Rust API or
//! `bindings/ffi`). It never holds a private key or a plaintext.

use kinseal::server::{self as ks, MemoryDirectory, PreKeyDirectory};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::Result;
use crate::js;
use crate::values;

/// Registered devices, their prekeys (each one-time key given out once)
/// and users' device lists, in memory.
#[wasm_bindgen]
pub struct Directory {
    inner: MemoryDirectory,
}

impl Default for Directory {
    fn default() -> Self {
        Directory::new()
    }
}

#[wasm_bindgen]
impl Directory {
    /// An empty directory.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Directory {
        Directory {
            inner: MemoryDirectory::new(),
        }
    }

    /// Registers `device` with its identity key (32 bytes; after the app
    /// authenticated the device's user): `"New"`, `"Unchanged"` or
    /// `"Replaced"` (another key was registered; its keys were deleted).
    #[wasm_bindgen(unchecked_return_type = "\"New\" | \"Unchanged\" | \"Replaced\"")]
    pub fn register(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] device: JsValue,
        #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
    ) -> Result<JsValue> {
        let device = js::device(&device)?;
        let key =
            kinseal::IdentityKey::from_bytes(&js::key_array(identity_key, "an identity key")?)?;
        Ok(JsValue::from_str(
            match self.inner.register(&device, &key)? {
                kinseal::server::Registration::New => "New",
                kinseal::server::Registration::Unchanged => "Unchanged",
                _ => "Replaced",
            },
        ))
    }

    /// Removes `device` and its keys: whether it was registered.
    pub fn remove(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] device: JsValue,
    ) -> Result<bool> {
        Ok(self.inner.remove(&js::device(&device)?)?)
    }

    /// The registered devices of `user`, in device-id order: each one's
    /// identity key, how many prekeys it holds and whether it can give
    /// out a bundle.
    #[wasm_bindgen(unchecked_return_type = "DeviceInfo[]")]
    pub fn devices(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
    ) -> Result<JsValue> {
        let devices = self.inner.devices(&js::user(&user)?)?;
        Ok(js::array(devices.iter(), |d| {
            let o = js::object();
            js::set(&o, "address", js::device_out(d.address()));
            js::set(&o, "identityKey", js::bytes(&d.identity_key().to_bytes()));
            js::set(&o, "counts", values::counts(d.counts()));
            js::set(&o, "ready", d.is_ready());
            o.into()
        }))
    }

    /// Replaces every stored list of `user` with `list`, which may start
    /// a new chain (a user who lost every device and started over, after
    /// the server authenticated them again). The list must verify and be
    /// `user`'s.
    #[wasm_bindgen(js_name = resetDeviceList)]
    pub fn reset_device_list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        list: &[u8],
    ) -> Result<()> {
        Ok(self.inner.reset_device_list(&js::user(&user)?, list)?)
    }

    /// Checks and stores a prekey upload from `device`: what it holds now.
    #[wasm_bindgen(unchecked_return_type = "PreKeyCounts")]
    pub fn upload(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] device: JsValue,
        upload: &[u8],
    ) -> Result<JsValue> {
        let device = js::device(&device)?;
        Ok(values::counts(self.inner.upload(&device, upload)?))
    }

    /// Gives out a bundle for `device` (its one-time prekeys are taken):
    /// the bytes for `Account.startSession`.
    #[wasm_bindgen(js_name = takeBundle)]
    pub fn take_bundle(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] device: JsValue,
    ) -> Result<Vec<u8>> {
        let device = js::device(&device)?;
        Ok(self.inner.take_bundle(&device)?.to_bytes())
    }

    /// Checks and stores `user`'s signed device list (it must follow the
    /// one stored).
    #[wasm_bindgen(js_name = publishDeviceList)]
    pub fn publish_device_list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        list: &[u8],
    ) -> Result<()> {
        let user = js::user(&user)?;
        self.inner.publish_device_list(&user, list)?;
        Ok(())
    }

    /// `user`'s latest device list, if any.
    #[wasm_bindgen(js_name = deviceList)]
    pub fn device_list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.device_list(&js::user(&user)?)?)
    }

    /// `user`'s device lists after version `version`, oldest first.
    #[wasm_bindgen(js_name = deviceListsSince)]
    pub fn device_lists_since(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        version: f64,
    ) -> Result<Vec<js_sys::Uint8Array>> {
        let (user, version) = (js::user(&user)?, js::whole(version, "version")?);
        let lists = self.inner.device_lists_since(&user, version)?;
        Ok(lists
            .iter()
            .map(|l| js_sys::Uint8Array::from(&l[..]))
            .collect())
    }
}

/// Decodes an envelope's bytes into its routing (`Envelope`): a server
/// reads the recipient from it; it cannot read the message.
#[wasm_bindgen(js_name = decodeEnvelope, unchecked_return_type = "Envelope")]
pub fn decode_envelope(bytes: &[u8]) -> Result<JsValue> {
    Ok(values::envelope(&kinseal::Envelope::from_bytes(bytes)?))
}

/// Decodes a prekey upload and checks its signatures under the device's
/// registered identity key (32 bytes), for a server that stores uploads
/// by other means: what it holds.
#[wasm_bindgen(js_name = validateUpload, unchecked_return_type = "UploadSummary")]
pub fn validate_upload(
    upload: &[u8],
    #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
) -> Result<JsValue> {
    let identity =
        kinseal::IdentityKey::from_bytes(&js::key_array(identity_key, "an identity key")?)?;
    let verified = kinseal::PreKeyUpload::from_bytes(upload)?.verify(&identity)?;
    let u = verified.upload();
    let o = js::object();
    js::set(&o, "hasSignedPrekey", u.signed_prekey().is_some());
    js::set(&o, "hasLastResortPrekey", u.last_resort_prekey().is_some());
    let counts = kinseal::PreKeyCounts::new(u.one_time_prekeys().len(), u.kem_prekeys().len());
    js::set(&o, "counts", values::counts(counts));
    Ok(o.into())
}

/// Reads a pairwise message's header for routing (no key needed): its
/// kind, version, size and the prekeys a `PreKeyMessage` names.
#[wasm_bindgen(unchecked_return_type = "RouteInfo")]
pub fn route(message: &[u8]) -> Result<JsValue> {
    let info = ks::route(message)?;
    let o = js::object();
    let kind = match info.kind() {
        kinseal::MessageKind::PreKeyMessage => "PreKeyMessage",
        kinseal::MessageKind::Message => "Message",
        _ => "Other",
    };
    js::set(&o, "kind", kind);
    js::set(&o, "version", info.version());
    js::set(&o, "size", js::number(info.size() as u64));
    if let Some(p) = info.prekeys() {
        let ids = js::object();
        js::set(&ids, "signedPrekeyId", p.signed_prekey_id());
        if let Some(id) = p.one_time_prekey_id() {
            js::set(&ids, "oneTimePrekeyId", id);
        }
        js::set(&ids, "kemPrekeyId", p.kem_prekey_id());
        js::set(&o, "prekeys", ids);
    }
    Ok(o.into())
}

/// Reads a group message's header for fan-out (no key needed): the
/// group, the epoch it was sent in and its size.
#[wasm_bindgen(js_name = routeGroup, unchecked_return_type = "GroupRouteInfo")]
pub fn route_group(message: &[u8]) -> Result<JsValue> {
    let info = ks::route_group(message)?;
    let o = js::object();
    js::set(&o, "group", js::bytes(info.group_id().as_bytes()));
    js::set(&o, "epoch", js::number(info.epoch()));
    js::set(&o, "size", js::number(info.size() as u64));
    Ok(o.into())
}
