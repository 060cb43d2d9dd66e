//! Getting a broken conversation going again without the user: closing a
//! session so the next message starts a new one, and forgetting a device.

use rand_core::CryptoRng;

use super::Account;
use crate::address::DeviceAddress;
use crate::client::store::{ClientStore, SessionStore, StoreTransaction};
use crate::client::trust::TrustPolicy;

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Closes the current session with a device, so that the next message
    /// to it needs a new session ([`Account::sync_sessions`] starts one;
    /// [`Account::encrypt`] says [`AccountError::NoSession`](crate::client::AccountError::NoSession)
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
        let mut txn = self.store.transaction()?;
        let mut set = self.load_sessions(&mut txn, peer)?;
        if !set.close() {
            return Ok(false);
        }
        let sealed = self.store_sessions(&mut txn, rng, peer, &mut set, now)?;
        txn.commit()?;
        self.remember(peer, sealed, set);
        Ok(true)
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
