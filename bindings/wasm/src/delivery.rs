//! Delivery callbacks: the app stores a decrypted message inside the
//! store transaction that decrypted it (`decryptWith`,
//! `groupDecryptWith`), or each message of a queue inside one
//! transaction for the whole queue (`decryptBatch`). A callback that
//! throws refuses its message: nothing it would have changed is stored,
//! and it decrypts again later.

use js_sys::{Function, Uint8Array};
use kinseal::client::{self as kc, BatchFailure};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::account::Account;
use crate::error::{self, Failure};
use crate::js::{self, seconds};
use crate::peer;
use crate::rng::Rng;
use crate::values;

/// A call that can also throw the app's own exception (as `cause`).
type Thrown<T> = core::result::Result<T, JsValue>;

/// One batch result: `{ outcome, message }` or `{ outcome, error }`.
fn outcome(outcome: &str, key: &str, value: JsValue) -> JsValue {
    let o = js::object();
    js::set(&o, "outcome", outcome);
    js::set(&o, key, value);
    o.into()
}

#[wasm_bindgen]
impl Account {
    /// Decrypts message bytes from `peer` and hands the result to
    /// `deliver` inside the same transaction, for the app to store it
    /// (synchronously: a Promise it returns refuses the message). If
    /// `deliver` throws, nothing is stored (the message decrypts again
    /// later) and a `Callback` error is thrown with its exception as
    /// `cause`.
    #[wasm_bindgen(js_name = decryptWith, unchecked_return_type = "Decrypted")]
    pub fn decrypt_with(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        message: &[u8],
        now: f64,
        #[wasm_bindgen(unchecked_param_type = "(message: Decrypted) => void")] deliver: &Function,
    ) -> Thrown<JsValue> {
        let peer = js::device(&peer)?;
        peer::decrypt_with(&self.shared, &peer, message, now, deliver)
    }

    /// Decrypts a group message from `sender` and hands it to `deliver`
    /// inside the same transaction, as `decryptWith` does.
    #[wasm_bindgen(js_name = groupDecryptWith, unchecked_return_type = "GroupDecrypted")]
    pub fn group_decrypt_with(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] sender: JsValue,
        message: &[u8],
        #[wasm_bindgen(unchecked_param_type = "(message: GroupDecrypted) => void")]
        deliver: &Function,
    ) -> Thrown<JsValue> {
        let sender = js::device(&sender)?;
        let a = self.a()?;
        let delivered = a.group_decrypt_with(&mut Rng, &sender, message, |d| {
            let value = values::group_decrypted(d);
            error::synchronous(deliver.call1(&JsValue::NULL, &value)?, "deliver")?;
            Ok::<_, JsValue>(value)
        });
        match delivered.map_err(Failure::from)? {
            Ok((_, value)) => Ok(value),
            Err(cause) => Err(error::callback(cause)),
        }
    }

    /// Decrypts a queue of envelope bytes (`Envelope.bytes`, any senders)
    /// in one store transaction, handing each decrypted message to
    /// `deliver(index, message)` inside it: one result per envelope, in
    /// order. `"Delivered"`: taken; `"Failed"`: kinseal refused it (as
    /// `decryptEnvelope` would have thrown); `"Refused"`: `deliver` threw
    /// (a `Callback` error): it decrypts again later. Nothing of a failed
    /// or refused message is stored. Throws only for the store's
    /// failures, and then nothing changed.
    #[wasm_bindgen(js_name = decryptBatch, unchecked_return_type = "BatchResult[]")]
    pub fn decrypt_batch(
        &self,
        envelopes: Vec<Uint8Array>,
        now: f64,
        #[wasm_bindgen(unchecked_param_type = "(index: number, message: Decrypted) => void")]
        deliver: &Function,
    ) -> Thrown<JsValue> {
        let now = seconds(now)?;
        // Envelopes that do not decode fail on their own; the others go
        // to kinseal, whose indices are mapped back.
        let mut results: Vec<JsValue> = Vec::with_capacity(envelopes.len());
        let mut decoded = Vec::with_capacity(envelopes.len());
        let mut at = Vec::with_capacity(envelopes.len());
        for (i, bytes) in envelopes.iter().enumerate() {
            match kinseal::Envelope::from_bytes(&bytes.to_vec()) {
                Ok(e) => {
                    decoded.push(e);
                    at.push(i);
                    results.push(JsValue::UNDEFINED);
                }
                Err(e) => results.push(outcome("Failed", "error", Failure::from(e).into())),
            }
        }
        let a = self.a()?;
        let outcomes = a
            .decrypt_batch(&mut Rng, &decoded, now, |j, d: &kc::Decrypted| {
                match (at.get(j), decoded.get(j)) {
                    (Some(&index), Some(e)) => {
                        let value = values::decrypted(e.sender(), d);
                        let index = js::number(index as u64);
                        error::synchronous(
                            deliver.call2(&JsValue::NULL, &index, &value)?,
                            "deliver",
                        )?;
                        Ok(value)
                    }
                    _ => Err(JsValue::from(Failure::invalid(
                        "a batch index out of range",
                    ))),
                }
            })
            .map_err(Failure::from)?;
        for (j, result) in outcomes.into_iter().enumerate() {
            let value = match result {
                Ok((_, value)) => outcome("Delivered", "message", value),
                Err(BatchFailure::Failed(e)) => outcome("Failed", "error", Failure::from(e).into()),
                Err(BatchFailure::Refused(cause)) => {
                    outcome("Refused", "error", error::callback(cause))
                }
            };
            if let Some(slot) = at.get(j).and_then(|&i| results.get_mut(i)) {
                *slot = value;
            }
        }
        // kinseal reports every envelope it was given; a slot left empty
        // would be a bug, reported rather than dropped.
        Ok(js::array(results, |r| {
            if r.is_undefined() {
                let missing = Failure {
                    name: "Other",
                    kind: String::new(),
                    detail: "no outcome for this envelope".into(),
                };
                outcome("Failed", "error", missing.into())
            } else {
                r
            }
        }))
    }
}
