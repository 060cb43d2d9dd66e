//! Linking a new device to the account (PROTOCOL.md §13): the existing
//! device adds it to the list and seals the user key to it; the new device
//! becomes an account of the same user from what it received.

use rand_core::CryptoRng;

use super::Account;
use crate::client::keyring::StorageKeyring;
use crate::client::store::{ClientStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::{LinkCode, Provisioned, ProvisioningMessage, VerifiedDeviceList};

/// What [`Account::link_device`] returns: the list to publish and the
/// provisioning message to send to the new device.
pub struct LinkedDevice {
    list: VerifiedDeviceList,
    message: Vec<u8>,
}

impl LinkedDevice {
    /// The account's next device list, with the new device on it: publish
    /// it, so that peers accept the new device.
    pub fn device_list(&self) -> &VerifiedDeviceList {
        &self.list
    }

    /// The provisioning message (PROTOCOL.md §13.3): relay it to the new
    /// device through the app's server. Only the holder of the code's
    /// ephemeral secret can open it.
    pub fn provisioning_message(&self) -> &[u8] {
        &self.message
    }
}

impl core::fmt::Debug for LinkedDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LinkedDevice")
            .field("list", &self.list)
            .field("message_len", &self.message.len())
            .finish()
    }
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Links a new device of this user, from the code the new device shows
    /// (its [`LinkRequest`](crate::LinkRequest)'s QR code, scanned here):
    /// adds it to the device list as `device_id` (the id the app's server
    /// gave it), records the list, and seals the user key and the list to
    /// the code. Nothing is recorded if sealing fails.
    ///
    /// # Errors
    /// As [`Account::add_device`]; a [`StorageError`](crate::StorageError).
    ///
    /// # Security
    /// The message hands this account's user key to whoever holds the
    /// code's secret: scan the code only from the new device's screen, and
    /// show the user the device being added. Every linked device can sign
    /// device lists for the user.
    pub fn link_device<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        code: &LinkCode,
        device_id: u32,
        now: u64,
    ) -> crate::Result<LinkedDevice> {
        let mut txn = self.store.transaction()?;
        let list = self.add_device_in(&mut txn, rng, device_id, code.identity_key(), now)?;
        let message = ProvisioningMessage::seal(rng, code, &self.user, &list, device_id)?;
        txn.commit()?;
        Ok(LinkedDevice { list, message })
    }
}

impl<S: ClientStore> Account<S> {
    /// Creates the account of a newly linked device in an empty store, from
    /// what [`LinkRequest::open`](crate::LinkRequest::open) gave it: its own
    /// identity key, the user's identity key, and the device list that
    /// names it (its first list of the user; later ones must follow it).
    /// Publish prekeys next, as for [`Account::create`].
    ///
    /// # Errors
    /// [`AccountError::AccountExists`](crate::AccountError::AccountExists) if the store already holds one; a
    /// [`StorageError`](crate::StorageError).
    pub fn create_linked<R: CryptoRng + ?Sized>(
        store: S,
        keyring: StorageKeyring,
        rng: &mut R,
        provisioned: Provisioned,
        now: u64,
    ) -> crate::Result<Self> {
        let address = provisioned.device_address();
        let (identity, user, list, _) = provisioned.into_parts();
        Self::install(store, keyring, rng, identity, user, address, &list, now)
    }
}
