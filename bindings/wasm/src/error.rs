//! Errors as JavaScript values: every failure of a call is thrown as a
//! JavaScript `Error` with `name`, `kind` and `detail`, the same kinds as
//! the other bindings' `KinsealError` (`bindings/ffi/src/error.rs`).
//!
//! `name` is the kind of `kinseal::Error` (`Protocol`, `Account`, ...),
//! or `InvalidArgument` for an argument the bindings refused before
//! kinseal saw it (a storage key that is not 32 bytes, a `now` that is
//! not a whole number of seconds, an address object without `appId`);
//! `kind` is the case inside it (`Duplicate`, `NoDeviceList`, ...) for
//! code to match on; `detail` is a sentence for logs. `DecryptionFailed`
//! carries nothing on purpose: a wrong key, a tampered byte and a forgery
//! look the same.

use wasm_bindgen::JsValue;

/// A failure, before it becomes a JavaScript `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The kind: the `name` of the thrown `Error`.
    pub name: &'static str,
    /// The case inside the kind (empty when there is none).
    pub kind: String,
    /// What went wrong, for a log (empty for `DecryptionFailed`).
    pub detail: String,
}

/// What the bindings' functions return before wasm-bindgen throws the
/// error.
pub(crate) type Result<T, E = Failure> = core::result::Result<T, E>;

impl Failure {
    /// An argument the bindings refuse.
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Failure {
            name: "InvalidArgument",
            kind: String::new(),
            detail: detail.into(),
        }
    }
}

/// The name of the enum case a `Debug` rendering starts with: `Duplicate`
/// for `Duplicate { index: 3 }`.
fn case_name(debug: &str) -> String {
    debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn kinded<K: core::fmt::Debug + core::fmt::Display>(name: &'static str, k: &K) -> Failure {
    Failure {
        name,
        kind: case_name(&format!("{k:?}")),
        detail: k.to_string(),
    }
}

impl From<kinseal::Error> for Failure {
    fn from(e: kinseal::Error) -> Self {
        use kinseal::Error as E;
        match &e {
            E::Decode(k) => kinded("Decode", k),
            E::Protocol(k) => kinded("Protocol", k),
            E::Misuse(k) => kinded("Misuse", k),
            E::DecryptionFailed => Failure {
                name: "DecryptionFailed",
                kind: String::new(),
                detail: String::new(),
            },
            E::Address(k) => kinded("Address", k),
            E::Account(k) => kinded("Account", k),
            E::Trust(k) => kinded("Trust", k),
            E::Upload(k) => kinded("Upload", k),
            E::Directory(k) => kinded("Directory", k),
            E::Storage(k) => kinded("Storage", k),
            E::DeviceList(k) => kinded("DeviceList", k),
            E::Group(k) => kinded("Group", k),
            E::Link(k) => kinded("Link", k),
            E::AccountLink(k) => kinded("AccountLink", k),
            other => Failure {
                name: "Other",
                kind: String::new(),
                detail: other.to_string(),
            },
        }
    }
}

impl From<kinseal::StorageError> for Failure {
    fn from(e: kinseal::StorageError) -> Self {
        kinseal::Error::Storage(e).into()
    }
}

impl From<Failure> for JsValue {
    fn from(f: Failure) -> Self {
        let message = match (f.kind.is_empty(), f.detail.is_empty()) {
            (_, true) => f.name.to_string(),
            (true, false) => format!("{}: {}", f.name, f.detail),
            (false, false) => format!("{} ({}): {}", f.name, f.kind, f.detail),
        };
        let error = js_sys::Error::new(&message);
        error.set_name(f.name);
        // Setting a property on a fresh Error cannot fail.
        let _ = js_sys::Reflect::set(&error, &"kind".into(), &f.kind.into());
        let _ = js_sys::Reflect::set(&error, &"detail".into(), &f.detail.into());
        error.into()
    }
}

/// The error a call throws when the app's callback threw `cause` (or
/// returned a Promise: a callback must finish before the call goes on): a
/// `Callback` error whose `cause` is what it threw.
pub(crate) fn callback(cause: JsValue) -> JsValue {
    use wasm_bindgen::JsCast;
    let detail = match cause.dyn_ref::<js_sys::Error>() {
        Some(e) => String::from(e.message()),
        None => cause.as_string().unwrap_or_default(),
    };
    let error = JsValue::from(Failure {
        name: "Callback",
        kind: String::new(),
        detail: format!("the callback threw: {detail}"),
    });
    let _ = js_sys::Reflect::set(&error, &"cause".into(), &cause);
    error
}

/// What a callback returned, or the error to refuse it with if it is a
/// Promise (or any thenable): nothing waits for one.
pub(crate) fn synchronous(returned: JsValue, what: &str) -> core::result::Result<(), JsValue> {
    let then = js_sys::Reflect::get(&returned, &"then".into()).unwrap_or(JsValue::UNDEFINED);
    if returned.is_object() && then.is_function() {
        return Err(js_sys::Error::new(&format!(
            "{what} returned a Promise: it must store the message before it returns"
        ))
        .into());
    }
    Ok(())
}
