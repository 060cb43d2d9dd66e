//! Building and reading plain JavaScript objects: the addresses the app
//! passes in, and the results handed back.

use js_sys::{Array, Object, Reflect, Uint8Array};
use kinseal::client as kc;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Failure, Result};

/// The largest `now` accepted: JavaScript's largest exact integer
/// (`Number.MAX_SAFE_INTEGER`, 2^53 − 1). Every time in seconds that
/// kinseal handles is far below it.
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A whole number 0 ..= [`MAX_SAFE_INTEGER`] from a JavaScript number,
/// or `InvalidArgument` naming `what`.
pub(crate) fn whole(n: f64, what: &str) -> Result<u64> {
    if !(0.0..=MAX_SAFE_INTEGER).contains(&n) || n.fract() != 0.0 {
        return Err(Failure::invalid(format!(
            "{what} must be a whole number from 0 to 2^53 - 1, not {n}"
        )));
    }
    // Exact: a whole number in range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(n as u64)
}

/// `now`: whole seconds since the Unix epoch, as [`whole`] reads them.
pub(crate) fn seconds(now: f64) -> Result<u64> {
    whole(now, "now (whole seconds)")
}

/// A count or version for JavaScript. Values kinseal hands out (versions,
/// epochs, times) stay far below 2^53, where the conversion is exact.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A new empty object.
pub(crate) fn object() -> Object {
    Object::new()
}

/// Sets `key` on an object the bindings just made (which cannot fail).
pub(crate) fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// A `Uint8Array` copy of `bytes`.
pub(crate) fn bytes(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

/// An array of the values `f` makes from `items`.
pub(crate) fn array<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> JsValue) -> JsValue {
    items.into_iter().map(f).collect::<Array>().into()
}

/// The property `key` of `value`, or `InvalidArgument` naming `what`.
pub(crate) fn field(value: &JsValue, key: &str, what: &str) -> Result<JsValue> {
    if !value.is_object() {
        return Err(Failure::invalid(format!("{what} must be an object")));
    }
    Reflect::get(value, &JsValue::from_str(key))
        .map_err(|_| Failure::invalid(format!("{what}.{key} cannot be read")))
}

pub(crate) fn string_field(value: &JsValue, key: &str, what: &str) -> Result<String> {
    field(value, key, what)?
        .as_string()
        .ok_or_else(|| Failure::invalid(format!("{what}.{key} must be a string")))
}

/// A user address from `{ appId, userId }`.
pub(crate) fn user(value: &JsValue) -> Result<kc::UserAddress> {
    let app = string_field(value, "appId", "a user address")?;
    let user = string_field(value, "userId", "a user address")?;
    Ok(kc::UserAddress::new(app.as_bytes(), user.as_bytes())?)
}

/// A device address from `{ appId, userId, deviceId }`.
pub(crate) fn device(value: &JsValue) -> Result<kc::DeviceAddress> {
    let user = user(value)?;
    let id = field(value, "deviceId", "a device address")?
        .as_f64()
        .filter(|n| (0.0..=f64::from(u32::MAX)).contains(n) && n.fract() == 0.0)
        .ok_or_else(|| {
            Failure::invalid("a device address's deviceId must be a whole number 0 ..= 2^32 - 1")
        })?;
    // Exact: a whole number in u32's range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(user.device(id as u32))
}

/// Every element of a JavaScript array, read by `f`.
pub(crate) fn each<T>(
    value: &JsValue,
    what: &str,
    f: impl Fn(&JsValue) -> Result<T>,
) -> Result<Vec<T>> {
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| Failure::invalid(format!("{what} must be an array")))?;
    array.iter().map(|v| f(&v)).collect()
}

/// The bytes of a `Uint8Array`.
pub(crate) fn byte_vec(value: &JsValue, what: &str) -> Result<Vec<u8>> {
    value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| Failure::invalid(format!("{what} must be a Uint8Array")))
}

/// The bytes of the property `key`, a `Uint8Array`.
pub(crate) fn bytes_field(value: &JsValue, key: &str, what: &str) -> Result<Vec<u8>> {
    byte_vec(&field(value, key, what)?, &format!("{what}.{key}"))
}

/// A string for an id kinseal keeps as bytes (the app gave a string, so
/// the bytes are UTF-8; anything else shows replacement characters).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `{ appId, userId }`.
pub(crate) fn user_out(a: &kc::UserAddress) -> JsValue {
    let o = object();
    set(&o, "appId", text(a.app_id()));
    set(&o, "userId", text(a.user_id()));
    o.into()
}

/// `{ appId, userId, deviceId }`.
pub(crate) fn device_out(a: &kc::DeviceAddress) -> JsValue {
    let o = object();
    set(&o, "appId", text(a.app_id()));
    set(&o, "userId", text(a.user_id()));
    set(&o, "deviceId", a.device_id());
    o.into()
}

/// A fixed-size key from the app's bytes, or `InvalidArgument`.
pub(crate) fn key_array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| Failure::invalid(format!("{what} must be {N} bytes, not {}", bytes.len())))
}

/// The property `key`: a whole number 0 ..= 2^53 - 1.
pub(crate) fn whole_field(value: &JsValue, key: &str, what: &str) -> Result<u64> {
    let n = field(value, key, what)?
        .as_f64()
        .ok_or_else(|| Failure::invalid(format!("{what}.{key} must be a number")))?;
    whole(n, &format!("{what}.{key}"))
}

/// A count from the property `key`: a whole number 0 ..= 2^53 - 1.
fn count_field(value: &JsValue, key: &str, what: &str) -> Result<usize> {
    let n = whole_field(value, key, what)?;
    usize::try_from(n).map_err(|_| Failure::invalid(format!("{what}.{key} is too large")))
}

/// `PreKeyCounts` from `{ oneTime, kem }`.
pub(crate) fn counts(value: &JsValue) -> Result<kinseal::PreKeyCounts> {
    Ok(kinseal::PreKeyCounts::new(
        count_field(value, "oneTime", "prekey counts")?,
        count_field(value, "kem", "prekey counts")?,
    ))
}
