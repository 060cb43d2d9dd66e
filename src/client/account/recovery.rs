//! Getting a broken conversation going again without the user: closing a
//! session so the next message starts a new one, decryption-error
//! receipts (PROTOCOL.md §14), and forgetting a device.

use rand_core::CryptoRng;

use super::Account;
use crate::address::DeviceAddress;
use crate::client::store::{ClientStore, SessionStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::error::{AccountError, Error};
use crate::{DecryptionErrorReceipt, Envelope, FailedMessage, ReceiptReason};

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Closes the current session with a device, so that the next message
    /// to it needs a new session ([`Account::sync_sessions`] starts one;
    /// [`Account::encrypt`] says [`AccountError::NoSession`](crate::AccountError::NoSession)
    /// until then). The closed session is kept, archived, so that
    /// messages the device already sent on it still decrypt. Whether
    /// there was a current session.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError); then nothing changed.
    pub fn reset_session<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        now: u64,
    ) -> crate::Result<bool> {
        super::trace::traced("reset_session", 0, || {
            let mut txn = self.store.transaction()?;
            let mut set = self.load_sessions(&mut txn, peer)?;
            if !set.close() {
                return Ok(false);
            }
            let sealed = self.store_sessions(&mut txn, rng, peer, &mut set, now)?;
            txn.commit()?;
            self.remember(peer, sealed, set);
            Ok(true)
        })
    }

    /// Forgets every session with a device (one that left: its user's
    /// list no longer names it, which [`Account::update_device_lists`]
    /// handles by itself). Its later messages are refused. Whether there
    /// were any.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError); then nothing changed.
    pub fn forget_device(&self, peer: &DeviceAddress) -> crate::Result<bool> {
        let mut txn = self.store.transaction()?;
        let had = txn.remove_sessions(peer)?;
        txn.commit()?;
        self.cache().forget(peer);
        Ok(had)
    }
}

/// What [`Account::handle_receipt`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiptOutcome {
    /// The receipt named the current session with its sender: it is
    /// closed, and the next message to the device starts a new one
    /// ([`Account::sync_sessions`]).
    SessionClosed {
        /// The device that could not decrypt.
        device: DeviceAddress,
        /// The message it could not decrypt: the app may send what it held
        /// again, on the new session ([`FailedMessage::of`] of each
        /// envelope it sent finds it).
        failed: FailedMessage,
    },
    /// The receipt named no current session with the device: that session
    /// was already closed or replaced (by an earlier copy of the receipt,
    /// a newer session, or a device list that replaced the device and
    /// dropped its sessions), or never existed here. Nothing to do: the
    /// next message to the device uses, or starts, its current session.
    AlreadyReplaced {
        /// The device that could not decrypt.
        device: DeviceAddress,
        /// The message it could not decrypt.
        failed: FailedMessage,
    },
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// The decryption-error receipt to send back for a message that did
    /// not decrypt with `error` (PROTOCOL.md §14), signed by this device, or
    /// `None` when the error calls for none: the message did authenticate
    /// (a duplicate, an expired key), the sender's user has no list on
    /// record (fetch it and try again first), or the error is this
    /// device's own (storage, trust decisions). Send it to the envelope's
    /// sender through the server.
    ///
    /// # Security
    /// The envelope's sender is the server's word: rate-limit receipts per
    /// sender device. A receipt can only make its recipient start a new
    /// session with this device.
    ///
    /// # Errors
    /// The message decoders' [`Error::Decode`](crate::Error::Decode) for a
    /// message too malformed to name.
    pub fn decryption_error_receipt(
        &self,
        envelope: &Envelope,
        error: &Error,
        now: u64,
    ) -> crate::Result<Option<DecryptionErrorReceipt>> {
        let reason = match error {
            Error::Account(AccountError::NoSessionForMessage) => ReceiptReason::NoSession,
            Error::DecryptionFailed => ReceiptReason::DecryptionFailed,
            Error::Account(AccountError::UnknownPreKey { .. }) => ReceiptReason::UnknownPreKey,
            Error::Account(AccountError::UnlistedDevice { .. }) => ReceiptReason::UnknownDevice,
            _ => return Ok(None),
        };
        if *envelope.recipient() != self.address {
            return Ok(None);
        }
        let failed = FailedMessage::of(envelope.message())?;
        Ok(Some(DecryptionErrorReceipt::new(
            &self.identity,
            &self.address,
            envelope.sender(),
            failed,
            reason,
            now,
        )))
    }

    /// Acts on a decryption-error receipt a peer device sent back: if it
    /// is signed by the identity key the device's user's latest list names
    /// for it, and names this device's current session with it, that
    /// session is closed (kept, archived), so the next message to the
    /// device starts a new one. A broken session thus recovers within one
    /// round trip, with no user action.
    ///
    /// # Errors
    /// - [`Error::Decode`](crate::Error::Decode) /
    ///   [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    ///   for a receipt that does not verify;
    /// - [`AccountError::NoDeviceList`] / [`AccountError::UnlistedDevice`]
    ///   when no list on record names the receipt's signer for its device:
    ///   fetch the user's newer lists (a reinstalled device is on one, and
    ///   taking it drops the device's old sessions by itself); giving the
    ///   receipt again then says [`ReceiptOutcome::AlreadyReplaced`];
    /// - [`AccountError::ReceiptNotApplicable`] for a receipt addressed to
    ///   another device;
    /// - a [`StorageError`](crate::StorageError).
    ///
    /// On any error nothing changed.
    pub fn handle_receipt<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        receipt: &[u8],
        now: u64,
    ) -> crate::Result<ReceiptOutcome> {
        super::trace::traced("handle_receipt", receipt.len(), || {
            let receipt = DecryptionErrorReceipt::from_bytes(receipt)?.verify()?;
            if *receipt.to() != self.address {
                return Err(AccountError::ReceiptNotApplicable.into());
            }
            let device = receipt.from().clone();
            let mut txn = self.store.transaction()?;
            let user = self.load_user(&mut txn, device.user())?.ok_or_else(|| {
                AccountError::NoDeviceList {
                    user: device.user().clone(),
                }
            })?;
            if !receipt.is_listed_in(user.device_list()) {
                return Err(AccountError::UnlistedDevice { address: device }.into());
            }
            let (mut set, read) = self.load_sessions_and_record(&mut txn, &device)?;
            let found = match receipt.failed() {
                FailedMessage::PreKey { handshake_id } => set.find_handshake(handshake_id),
                FailedMessage::Message { ratchet_key, .. } => set.find_ratchet_key(ratchet_key),
            };
            let failed = *receipt.failed();
            if found != Some(0) || set.current().is_none() {
                drop(txn);
                self.remember(&device, read, set);
                return Ok(ReceiptOutcome::AlreadyReplaced { device, failed });
            }
            set.close();
            let sealed = self.store_sessions(&mut txn, rng, &device, &mut set, now)?;
            txn.commit()?;
            self.remember(&device, sealed, set);
            Ok(ReceiptOutcome::SessionClosed { device, failed })
        })
    }
}
