//! Draining a queue: many envelopes decrypted in one store transaction
//! (`kinseal::client::Account::decrypt_batch`), each message's outcome
//! reported, the app's callback storing each plaintext inside it.

use kinseal::OsRng;
use kinseal::client::{self as kc, BatchFailure};

use crate::account::{Account, with};
use crate::error::{KinsealError, Result};
use crate::types::Decrypted;

/// Where the app keeps each plaintext of a batch, called inside the one
/// store transaction of `decrypt_batch`: raise to refuse that message
/// alone (it is undone, and decrypts again in a later call).
#[uniffi::export(callback_interface)]
pub trait BatchDelivery: Send + Sync {
    /// Stores message `index` of the batch. Raising refuses it.
    fn deliver(&self, index: u32, message: Decrypted) -> Result<()>;
}

/// What became of one envelope of a batch.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum BatchResult {
    /// Decrypted and delivered; committed with the batch.
    Delivered {
        /// The message.
        message: Decrypted,
    },
    /// kinseal refused it (as `decrypt_envelope` would have raised):
    /// nothing of it was stored.
    Failed {
        /// Why.
        error: KinsealError,
    },
    /// The app's `deliver` raised: nothing of it was stored; it decrypts
    /// again in a later call.
    Refused {
        /// What `deliver` raised (as a `Callback` error if it raised
        /// something else).
        error: KinsealError,
    },
}

#[uniffi::export]
impl Account {
    /// Decrypts a queue of envelope bytes (from `Envelope.bytes`, any
    /// senders) in one store transaction, handing each decrypted message
    /// to `delivery` inside it; one durable commit for the whole queue.
    /// A result per envelope, in order. Raises only for the store's
    /// failures, and then nothing was committed.
    pub fn decrypt_batch(
        &self,
        envelopes: Vec<Vec<u8>>,
        now: u64,
        delivery: Box<dyn BatchDelivery>,
    ) -> Result<Vec<BatchResult>> {
        // Envelopes that do not decode are failures of their own; the
        // others go to kinseal, whose indices are mapped back.
        let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(envelopes.len());
        let mut decoded = Vec::with_capacity(envelopes.len());
        let mut at = Vec::with_capacity(envelopes.len());
        for (i, bytes) in envelopes.iter().enumerate() {
            match kinseal::Envelope::from_bytes(bytes) {
                Ok(e) => {
                    decoded.push(e);
                    at.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(BatchResult::Failed { error: e.into() })),
            }
        }
        let deliver = |j: usize, d: &kc::Decrypted| match (at.get(j), decoded.get(j)) {
            (Some(&index), Some(e)) => delivery.deliver(
                u32::try_from(index).unwrap_or(u32::MAX),
                Decrypted::new(e.sender(), d),
            ),
            _ => Err(KinsealError::invalid("a batch index out of range")),
        };
        let outcomes = with!(self, a => a.decrypt_batch(&mut OsRng, &decoded, now, deliver)?);
        for (j, outcome) in outcomes.into_iter().enumerate() {
            let result = match outcome {
                Ok((d, ())) => match decoded.get(j) {
                    Some(e) => BatchResult::Delivered {
                        message: Decrypted::new(e.sender(), &d),
                    },
                    None => continue,
                },
                Err(BatchFailure::Failed(e)) => BatchResult::Failed { error: e.into() },
                Err(BatchFailure::Refused(e)) => BatchResult::Refused { error: e },
            };
            if let Some(slot) = at.get(j).and_then(|&i| results.get_mut(i)) {
                *slot = Some(result);
            }
        }
        // kinseal reports every envelope it was given; a slot left empty
        // would be a bug, reported rather than dropped.
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or(BatchResult::Failed {
                    error: KinsealError::Other {
                        detail: "no outcome for this envelope".into(),
                    },
                })
            })
            .collect())
    }
}
