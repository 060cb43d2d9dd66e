//! kinseal's results as plain JavaScript objects (their TypeScript
//! interfaces are in lib.rs), and the `SafetyNumber` class. None of them
//! holds a secret; a plaintext is in one only where the app decrypted it.

use kinseal::client as kc;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::{Failure, Result};
use crate::js::{array, bytes, device_out, number, object, set, user_out};

/// `"Known"`, `"New"` or `"Changed"`.
pub(crate) fn identity(s: &kc::IdentityStatus) -> JsValue {
    JsValue::from_str(match s {
        kc::IdentityStatus::Known => "Known",
        kc::IdentityStatus::New => "New",
        _ => "Changed",
    })
}

/// What a group-control message did: `"Joined"`, `"Changed"`,
/// `"Unchanged"` or `"SenderKey"` (`"Other"` for a kind this version does
/// not know).
fn group_event(e: &kc::GroupEvent) -> JsValue {
    JsValue::from_str(match e {
        kc::GroupEvent::Joined { .. } => "Joined",
        kc::GroupEvent::Changed { .. } => "Changed",
        kc::GroupEvent::Unchanged { .. } => "Unchanged",
        kc::GroupEvent::SenderKey { .. } => "SenderKey",
        _ => "Other",
    })
}

/// A `Decrypted`.
pub(crate) fn decrypted(sender: &kc::DeviceAddress, d: &kc::Decrypted) -> JsValue {
    let o = object();
    set(&o, "sender", device_out(sender));
    set(&o, "plaintext", bytes(d.plaintext()));
    set(&o, "identity", identity(d.identity()));
    set(&o, "newSession", d.new_session());
    if let Some(event) = d.group_event() {
        set(&o, "groupEvent", group_event(event));
    }
    o.into()
}

/// An `Envelope`.
pub(crate) fn envelope(e: &kinseal::Envelope) -> JsValue {
    let o = object();
    set(&o, "sender", device_out(e.sender()));
    set(&o, "recipient", device_out(e.recipient()));
    set(&o, "bytes", bytes(&e.to_bytes()));
    set(&o, "message", bytes(e.message()));
    o.into()
}

/// A `FanOut`.
pub(crate) fn fan_out(f: &kc::FanOut) -> JsValue {
    let o = object();
    set(&o, "envelopes", array(f.envelopes(), envelope));
    set(&o, "missing", array(f.missing(), device_out));
    set(&o, "unreachable", array(f.unreachable(), user_out));
    o.into()
}

/// A `DeviceList`.
pub(crate) fn device_list(l: &kinseal::VerifiedDeviceList) -> JsValue {
    let user = l.address();
    let o = object();
    set(&o, "bytes", bytes(&l.to_bytes()));
    set(&o, "user", user_out(user));
    set(&o, "version", number(l.version()));
    set(&o, "userKey", bytes(&l.user_key().to_bytes()));
    let devices = array(l.devices(), |d| {
        let listed = object();
        set(&listed, "address", device_out(&user.device(d.device_id())));
        set(&listed, "identityKey", bytes(&d.identity_key().to_bytes()));
        set(&listed, "addedAt", number(d.added_at()));
        listed.into()
    });
    set(&o, "devices", devices);
    o.into()
}

/// A `DeviceListChange`.
pub(crate) fn device_list_change(c: &kc::DeviceListChange) -> JsValue {
    let o = object();
    set(&o, "user", user_out(c.user()));
    set(&o, "version", number(c.version()));
    set(&o, "isNewUser", c.is_new_user());
    set(&o, "added", array(c.added(), device_out));
    set(&o, "removed", array(c.removed(), device_out));
    set(&o, "replaced", array(c.replaced(), device_out));
    o.into()
}

/// A `SyncReport`: `{ started, failed }`.
pub(crate) fn sync_report(r: &kc::SyncReport) -> JsValue {
    let o = object();
    set(&o, "started", array(r.started(), |(d, _)| device_out(d)));
    let failed = array(r.failed(), |(d, e)| {
        let f = object();
        set(&f, "device", device_out(d));
        set(&f, "error", JsValue::from(Failure::from(e.clone())));
        f.into()
    });
    set(&o, "failed", failed);
    o.into()
}

/// `PreKeyCounts`.
pub(crate) fn counts(c: kinseal::PreKeyCounts) -> JsValue {
    let o = object();
    set(&o, "oneTime", number(c.one_time() as u64));
    set(&o, "kem", number(c.kem() as u64));
    o.into()
}

/// A `GroupState`.
pub(crate) fn group_state(s: &kinseal::GroupState) -> JsValue {
    let o = object();
    set(&o, "group", bytes(s.group_id().as_bytes()));
    set(&o, "epoch", number(s.epoch()));
    let members = array(s.members(), |m| {
        let member = object();
        set(&member, "user", user_out(m.address()));
        set(&member, "userKey", bytes(&m.key().to_bytes()));
        set(&member, "admin", m.role() == kinseal::GroupRole::Admin);
        member.into()
    });
    set(&o, "members", members);
    o.into()
}

/// A `GroupDecrypted`.
pub(crate) fn group_decrypted(d: &kc::GroupDecrypted) -> JsValue {
    let o = object();
    set(&o, "group", bytes(d.group().as_bytes()));
    set(&o, "sender", device_out(d.sender()));
    set(&o, "plaintext", bytes(d.plaintext()));
    o.into()
}

/// A `StoredRecord`: `{ key, value }`, `value` undefined for a removal.
pub(crate) fn record(key: &[u8], value: Option<&[u8]>) -> JsValue {
    let o = object();
    set(&o, "key", bytes(key));
    if let Some(v) = value {
        set(&o, "value", bytes(v));
    }
    o.into()
}

/// A safety number of two devices or two people: what they compare, or
/// scan as a QR code, to know they talk to each other's keys.
#[wasm_bindgen]
pub struct SafetyNumber {
    inner: kc::SafetyNumber,
}

impl SafetyNumber {
    pub(crate) fn wrap(inner: kc::SafetyNumber) -> Self {
        SafetyNumber { inner }
    }
}

#[wasm_bindgen]
impl SafetyNumber {
    /// The digits, in one string.
    pub fn digits(&self) -> String {
        self.inner.digits()
    }

    /// The digits in groups, as apps show them.
    pub fn groups(&self) -> Vec<String> {
        self.inner.groups().to_vec()
    }

    /// The payload of the QR code to show.
    #[wasm_bindgen(js_name = qrBytes)]
    pub fn qr_bytes(&self) -> Vec<u8> {
        self.inner.to_qr_bytes()
    }

    /// Whether a QR code scanned from the other device shows this number.
    #[wasm_bindgen(js_name = matchesScanned)]
    pub fn matches_scanned(&self, scanned: &[u8]) -> Result<bool> {
        Ok(self.inner.matches_scanned(scanned)?)
    }

    /// Whether two safety numbers are the same.
    pub fn equals(&self, other: &SafetyNumber) -> bool {
        self.inner == other.inner
    }
}

/// A `FailedMessage`: which message a decryption-error receipt is about.
pub(crate) fn failed_message(f: &kinseal::FailedMessage) -> JsValue {
    let o = object();
    match f {
        kinseal::FailedMessage::Message {
            ratchet_key,
            index,
            previous_length,
        } => {
            set(&o, "kind", "Message");
            set(&o, "ratchetKey", bytes(ratchet_key));
            set(&o, "index", *index);
            set(&o, "previousLength", *previous_length);
        }
        kinseal::FailedMessage::PreKey { handshake_id } => {
            set(&o, "kind", "PreKey");
            set(&o, "handshakeId", bytes(handshake_id.as_bytes()));
        }
        #[allow(unreachable_patterns)]
        _ => set(&o, "kind", "Other"),
    }
    o.into()
}
