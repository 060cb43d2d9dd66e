//! How an account is set up: the app's trust policy (a JavaScript object
//! the account asks, synchronously, about every new or changed identity
//! key) and the storage keys it was sealed under before the current one.

use js_sys::{Function, Reflect};
use kinseal::client::{self as kc, StorageKeyring};
use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use crate::account::storage_key;
use crate::error::{Failure, Result};
use crate::js;
use crate::values;

/// The policy an account runs: kinseal's trust on first use, or the
/// app's object. A method the app's object lacks is decided as trust on
/// first use decides it.
pub(crate) enum Policy {
    /// kinseal's default.
    Default,
    /// The app's `TrustPolicy` object and the methods read from it.
    App {
        this: JsValue,
        device: Option<Function>,
        user: Option<Function>,
    },
}

/// A method of the policy object: undefined (not given) or a function.
fn method(policy: &JsValue, name: &str) -> Result<Option<Function>> {
    let value = Reflect::get(policy, &JsValue::from_str(name))
        .map_err(|_| Failure::invalid(format!("trustPolicy.{name} cannot be read")))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_into::<Function>()
        .map(Some)
        .map_err(|_| Failure::invalid(format!("trustPolicy.{name} must be a function")))
}

impl Policy {
    /// The policy from `options.trustPolicy` (undefined: the default).
    fn from_js(value: &JsValue) -> Result<Policy> {
        if value.is_undefined() || value.is_null() {
            return Ok(Policy::Default);
        }
        if !value.is_object() {
            return Err(Failure::invalid("trustPolicy must be an object"));
        }
        Ok(Policy::App {
            device: method(value, "trustDevice")?,
            user: method(value, "trustUser")?,
            this: value.clone(),
        })
    }
}

/// Only `true` trusts: `false`, any other value, and a throw refuse.
fn decision(answer: core::result::Result<JsValue, JsValue>) -> kc::TrustDecision {
    match answer {
        Ok(v) if v.as_bool() == Some(true) => kc::TrustDecision::Trust,
        _ => kc::TrustDecision::Refuse,
    }
}

/// `{ key, verified, firstSeen }`.
pub(crate) fn known_identity(k: &kc::KnownIdentity) -> JsValue {
    let o = js::object();
    js::set(&o, "key", js::bytes(&k.key().to_bytes()));
    js::set(&o, "verified", k.is_verified());
    js::set(&o, "firstSeen", js::number(k.first_seen()));
    o.into()
}

/// `{ key, verified, firstSeen, deviceList }`.
pub(crate) fn known_user(k: &kc::KnownUser) -> JsValue {
    let o = js::object();
    js::set(&o, "key", js::bytes(&k.key().to_bytes()));
    js::set(&o, "verified", k.is_verified());
    js::set(&o, "firstSeen", js::number(k.first_seen()));
    js::set(&o, "deviceList", values::device_list(k.device_list()));
    o.into()
}

fn or_undefined<T>(v: Option<T>, f: impl FnOnce(T) -> JsValue) -> JsValue {
    v.map_or(JsValue::UNDEFINED, f)
}

impl kc::TrustPolicy for Policy {
    fn decide(
        &self,
        peer: &kc::DeviceAddress,
        known: Option<&kc::KnownIdentity>,
        presented: &kinseal::IdentityKey,
    ) -> kc::TrustDecision {
        match self {
            Policy::App {
                this,
                device: Some(f),
                ..
            } => decision(f.call3(
                this,
                &js::device_out(peer),
                &or_undefined(known, known_identity),
                &js::bytes(&presented.to_bytes()),
            )),
            _ => kc::TrustOnFirstUse.decide(peer, known, presented),
        }
    }

    fn decide_user(
        &self,
        user: &kc::UserAddress,
        known: Option<&kc::KnownUser>,
        presented: &kinseal::UserIdentityKey,
        proof: Option<&[u8]>,
    ) -> kc::TrustDecision {
        match self {
            Policy::App {
                this,
                user: Some(f),
                ..
            } => decision(f.call4(
                this,
                &js::user_out(user),
                &or_undefined(known, known_user),
                &js::bytes(&presented.to_bytes()),
                &or_undefined(proof, js::bytes),
            )),
            _ => kc::TrustOnFirstUse.decide_user(user, known, presented, proof),
        }
    }
}

/// What `Account.create`, `createLinked` and `openFromRecords` take
/// besides the storage key: the policy, and (`openFromRecords` only)
/// the previous storage keys.
pub(crate) struct Options {
    pub(crate) policy: Policy,
    pub(crate) config: Option<kc::AccountConfig>,
    previous: Vec<(u32, Zeroizing<Vec<u8>>)>,
}

impl Options {
    /// The options from the app's object (undefined: none).
    pub(crate) fn from_js(value: &JsValue, previous_allowed: bool) -> Result<Options> {
        if value.is_undefined() || value.is_null() {
            return Ok(Options {
                policy: Policy::Default,
                config: None,
                previous: Vec::new(),
            });
        }
        if !value.is_object() {
            return Err(Failure::invalid("options must be an object"));
        }
        let get = |key: &str| {
            Reflect::get(value, &JsValue::from_str(key))
                .map_err(|_| Failure::invalid(format!("options.{key} cannot be read")))
        };
        let policy = Policy::from_js(&get("trustPolicy")?)?;
        let config = get("config")?;
        let config = if config.is_undefined() || config.is_null() {
            None
        } else {
            Some(account_config(&config)?)
        };
        let listed = get("previousKeys")?;
        let previous = if listed.is_undefined() || listed.is_null() {
            Vec::new()
        } else if previous_allowed {
            js::each(&listed, "options.previousKeys", |k| {
                let id = js::whole_field(k, "keyId", "a previous key")?;
                let id = u32::try_from(id)
                    .map_err(|_| Failure::invalid("a previous key's keyId must fit in 32 bits"))?;
                let secret = Zeroizing::new(js::bytes_field(k, "storageKey", "a previous key")?);
                Ok((id, secret))
            })?
        } else {
            return Err(Failure::invalid(
                "previousKeys are for openFromRecords only: a new account has no old records",
            ));
        };
        Ok(Options {
            policy,
            config,
            previous,
        })
    }

    /// The keyring: the current key and the previous ones.
    pub(crate) fn keyring(&self, current: &[u8], key_id: u32) -> Result<StorageKeyring> {
        let mut ring = StorageKeyring::new(storage_key(current, key_id)?);
        for (id, secret) in &self.previous {
            ring = ring.with_previous(storage_key(secret, *id)?)?;
        }
        Ok(ring)
    }
}

/// The property `key` of the config object: undefined, or a whole number.
fn setting(config: &JsValue, key: &str) -> Result<Option<u64>> {
    let v = Reflect::get(config, &JsValue::from_str(key))
        .map_err(|_| Failure::invalid(format!("config.{key} cannot be read")))?;
    if v.is_undefined() {
        return Ok(None);
    }
    let n = v
        .as_f64()
        .ok_or_else(|| Failure::invalid(format!("config.{key} must be a number")))?;
    Ok(Some(js::whole(n, &format!("config.{key}"))?))
}

/// A count setting (it must fit in `usize`; kinseal bounds it further).
fn count(config: &JsValue, key: &str) -> Result<Option<usize>> {
    setting(config, key)?
        .map(|n| {
            usize::try_from(n).map_err(|_| Failure::invalid(format!("config.{key} is too large")))
        })
        .transpose()
}

/// kinseal's settings: its defaults, with each field the app set applied
/// through kinseal's own bounded setter (out of range: `Misuse`, kind
/// `ConfigOutOfRange`).
fn account_config(config: &JsValue) -> Result<kc::AccountConfig> {
    use kinseal::server::{SIGNED_PREKEY_GRACE_SECS, SIGNED_PREKEY_ROTATION_SECS};
    if !config.is_object() {
        return Err(Failure::invalid("config must be an object"));
    }
    let mut c = kc::AccountConfig::default();
    if let Some(v) = count(config, "maxArchivedSessions")? {
        c = c.with_max_archived_sessions(v)?;
    }
    if let Some(v) = setting(config, "archivedSessionTtl")? {
        c = c.with_archived_session_ttl(v)?;
    }
    if let Some(v) = setting(config, "pendingSessionTtl")? {
        c = c.with_pending_session_ttl(v)?;
    }
    if let Some(v) = count(config, "oneTimePrekeyTarget")? {
        c = c.with_one_time_prekey_target(v)?;
    }
    let (rotation, grace) = (
        setting(config, "signedPrekeyRotation")?,
        setting(config, "signedPrekeyGrace")?,
    );
    if rotation.is_some() || grace.is_some() {
        c = c.with_signed_prekey_rotation(
            rotation.unwrap_or(SIGNED_PREKEY_ROTATION_SECS),
            grace.unwrap_or(SIGNED_PREKEY_GRACE_SECS),
        )?;
    }
    if let Some(v) = count(config, "sessionCache")? {
        c = c.with_session_cache(v)?;
    }
    let required = Reflect::get(config, &JsValue::from_str("deviceListsRequired"))
        .map_err(|_| Failure::invalid("config.deviceListsRequired cannot be read"))?;
    if !required.is_undefined() {
        let required = required
            .as_bool()
            .ok_or_else(|| Failure::invalid("config.deviceListsRequired must be a boolean"))?;
        c = c.with_device_lists_required(required);
    }
    let (messages, age) = (
        setting(config, "groupRotationMessages")?,
        setting(config, "groupRotationAge")?,
    );
    if messages.is_some() || age.is_some() {
        let messages = match messages {
            Some(m) => u32::try_from(m)
                .map_err(|_| Failure::invalid("config.groupRotationMessages is too large"))?,
            None => kc::DEFAULT_GROUP_ROTATION_MESSAGES,
        };
        c = c.with_group_rotation(messages, age.unwrap_or(kc::DEFAULT_GROUP_ROTATION_SECS))?;
    }
    Ok(c)
}
