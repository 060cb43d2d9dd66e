//! Draining a queue: many envelopes decrypted in one store transaction,
//! each message on its own savepoint, so that a durable store commits
//! once for all of them and one message's failure undoes only that
//! message.

use std::collections::HashMap;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::Account;
use super::messaging::Decrypted;
use super::sessions::SessionSet;
use crate::Envelope;
use crate::address::DeviceAddress;
use crate::client::store::{ClientStore, SessionStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, Error, StorageError};

/// Why one message of [`Account::decrypt_batch`] was not taken. Nothing
/// it would have changed was stored; the others are not affected.
#[derive(Debug)]
pub enum BatchFailure<E> {
    /// kinseal refused it, as [`Account::decrypt_envelope`] would have
    /// (a forgery, a duplicate, a message for another device, a sender
    /// whose device list is not on record yet, ...).
    Failed(Error),
    /// The app's `deliver` refused it: it decrypts again in a later call.
    Refused(E),
}

/// What one message of a batch came to: the decrypted message and what
/// `deliver` returned for it, or why it was not taken.
pub type BatchOutcome<T, E> = Result<(Decrypted, T), BatchFailure<E>>;

/// Whether a failure is the message's own (it is reported and the batch
/// goes on) rather than the store's (the batch stops: nothing is
/// committed). A record that does not open is one peer's: the others
/// still decrypt.
fn is_the_messages(e: &Error) -> bool {
    match e {
        Error::Storage(s) => matches!(
            s,
            StorageError::InvalidRecord { .. }
                | StorageError::SealBroken { .. }
                | StorageError::UnknownStorageKey { .. }
        ),
        _ => true,
    }
}

/// A sender's session set as the batch holds it: the sealed record the
/// store holds (`None` if none), the set, and whether a message of the
/// batch changed it since (then it is written before the commit).
struct Held {
    sealed: Option<Vec<u8>>,
    set: SessionSet,
    changed: bool,
}

/// The set as it was encoded before a message that was undone (`None`:
/// it had no session). It was just encoded by this process, so it
/// decodes; a failure would be the store's kind of failure all the same.
fn restore(before: &Option<Zeroizing<Vec<u8>>>) -> crate::Result<SessionSet> {
    let Some(before) = before else {
        return Ok(SessionSet::default());
    };
    SessionSet::decode(before).map_err(|_| StorageError::InvalidRecord { table: "sessions" }.into())
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Decrypts `envelopes` (a queue the server delivered, from any number
    /// of senders, first messages included) in one store transaction, in
    /// order, handing each decrypted message to `deliver` with its index
    /// inside the transaction, as [`Account::decrypt_with`] does for one.
    /// On a durable store that is one commit for the whole queue instead
    /// of one per message.
    ///
    /// Each message runs on its own savepoint: if kinseal refuses it, or
    /// `deliver` refuses it, what it changed is undone and the next one
    /// goes on; its outcome says why. The commit at the end makes every
    /// taken message durable together; if the process dies before it, none
    /// is, and every message decrypts again (at least once, never lost:
    /// `deliver` must store into the same transaction's fate, or
    /// deduplicate, as for [`Account::decrypt_with`]).
    ///
    /// A message from a sender whose device list is not on record fails
    /// with [`AccountError::NoDeviceList`]: fetch the list and decrypt it
    /// again (later messages from that sender in the same batch fail the
    /// same way, since they need its session).
    ///
    /// # Errors
    /// The outer `Err` for the store's failures (begin, read, savepoint,
    /// commit; also a record failing to open is only its message's): then
    /// nothing was committed and every message is still to decrypt.
    pub fn decrypt_batch<R: CryptoRng + ?Sized, T, E>(
        &self,
        rng: &mut R,
        envelopes: &[Envelope],
        now: u64,
        mut deliver: impl FnMut(usize, &Decrypted) -> Result<T, E>,
    ) -> crate::Result<Vec<BatchOutcome<T, E>>> {
        super::trace::traced("decrypt_batch", envelopes.len(), || {
            self.decrypt_batch_in(rng, envelopes, now, &mut deliver)
        })
    }

    fn decrypt_batch_in<R: CryptoRng + ?Sized, T, E>(
        &self,
        rng: &mut R,
        envelopes: &[Envelope],
        now: u64,
        deliver: &mut impl FnMut(usize, &Decrypted) -> Result<T, E>,
    ) -> crate::Result<Vec<BatchOutcome<T, E>>> {
        let mut txn = self.store.transaction()?;
        // The sets this batch read, each with the sealed record the store
        // holds for it and whether a message changed it since. Nothing
        // else writes a held device's sessions while the transaction is
        // open (this transaction is the store's only writer, and a
        // message's content touches no other device's sessions), so a held
        // set is the current one; a changed set is written once, before
        // the commit, however many of the batch's messages it took (one
        // seal and one write per sender instead of one per message).
        let mut held: HashMap<DeviceAddress, Held> = HashMap::new();
        let mut outcomes = Vec::with_capacity(envelopes.len());
        for (index, envelope) in envelopes.iter().enumerate() {
            if *envelope.recipient() != self.address {
                let wrong = AccountError::WrongRecipient {
                    recipient: envelope.recipient().clone(),
                };
                outcomes.push(Err(BatchFailure::Failed(wrong.into())));
                continue;
            }
            let peer = envelope.sender();
            let Held {
                sealed,
                set,
                changed,
            } = match held.remove(peer) {
                Some(h) => h,
                None => {
                    let sealed = txn.sessions(peer)?;
                    match self.open_sessions(peer, sealed.as_deref()) {
                        Ok(set) => Held {
                            sealed,
                            set,
                            changed: false,
                        },
                        Err(e) if is_the_messages(&e) => {
                            outcomes.push(Err(BatchFailure::Failed(e)));
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            // What the set was before this message, to go back to if the
            // message is undone after it changed the set (the savepoint
            // undoes the store's writes; the set is in memory). Encoding
            // re-serializes only the sessions that changed.
            let mut set = set;
            let before = (!set.is_empty()).then(|| set.encode());
            txn.savepoint()?;
            match self.decrypt_unstored(&mut txn, rng, peer, set, envelope.message(), now) {
                Ok((decrypted, set)) => match deliver(index, &decrypted) {
                    Ok(value) => {
                        txn.release_savepoint()?;
                        held.insert(
                            peer.clone(),
                            Held {
                                sealed,
                                set,
                                changed: true,
                            },
                        );
                        outcomes.push(Ok((decrypted, value)));
                    }
                    Err(refused) => {
                        txn.rollback_to_savepoint()?;
                        let set = restore(&before)?;
                        held.insert(
                            peer.clone(),
                            Held {
                                sealed,
                                set,
                                changed,
                            },
                        );
                        outcomes.push(Err(BatchFailure::Refused(refused)));
                    }
                },
                Err((e, intact)) => {
                    if !is_the_messages(&e) {
                        return Err(e);
                    }
                    txn.rollback_to_savepoint()?;
                    let set = match intact {
                        Some(set) => set,
                        None => restore(&before)?,
                    };
                    held.insert(
                        peer.clone(),
                        Held {
                            sealed,
                            set,
                            changed,
                        },
                    );
                    outcomes.push(Err(BatchFailure::Failed(e)));
                }
            }
        }
        let mut written = Vec::with_capacity(held.len());
        for (peer, h) in held {
            let Held {
                sealed,
                mut set,
                changed,
            } = h;
            let sealed = if changed {
                self.store_sessions(&mut txn, rng, &peer, &mut set, now)?
            } else {
                sealed
            };
            written.push((peer, sealed, set));
        }
        txn.commit()?;
        for (peer, sealed, set) in written {
            self.remember(&peer, sealed, set);
        }
        Ok(outcomes)
    }
}
