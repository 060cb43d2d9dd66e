//! Long-term and medium-term keys: the identity key, signed and one-time
//! X25519 prekeys, ML-KEM-768 prekeys, the bundle a server hands out, the
//! upload a device sends it, the user identity key with the device list
//! and the account links it signs, and linking a new device to the account.

mod account_link;
mod bundle;
mod device_list;
mod identity;
mod kem;
mod link;
mod link_revocation;
mod prekey;
mod upload;
mod user;

pub use account_link::{AccountLink, AccountLinkProposal, LinkedAccount, VerifiedAccountLink};
pub use bundle::{PreKeyBundle, VerifiedBundle};
pub use device_list::{
    DeviceList, DeviceListEntry, DeviceListUpdate, ReplacedDevice, VerifiedDeviceList,
};
pub use identity::{IdentityKey, IdentityKeyPair};
pub use kem::{KemPreKey, KemPreKeyPair};
pub use link::{LinkCode, LinkRequest, Provisioned, ProvisioningMessage};
pub use link_revocation::LinkRevocation;
pub use prekey::{OneTimePreKey, OneTimePreKeyPair, SignedPreKey, SignedPreKeyPair};
pub use upload::{PreKeyCounts, PreKeyUpload, PreKeyUploadBuilder, VerifiedUpload};
pub use user::{UserIdentityKey, UserIdentityKeyPair};

/// The most prekeys one `generate_batch` call produces.
pub const MAX_PREKEY_BATCH: usize = 10_000;

/// Checks that `count` ids starting at `first_id` fit in a u32 and in one batch.
pub(crate) fn check_batch(first_id: u32, count: usize) -> crate::Result<()> {
    let room = (u32::MAX - first_id) as usize + 1;
    let max = MAX_PREKEY_BATCH.min(room);
    if count > max {
        return Err(crate::MisuseError::BatchTooLarge { max, found: count }.into());
    }
    Ok(())
}

/// Lower-case hex of public bytes, for `Debug` output.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A short fingerprint of a long public value (its first 8 bytes), for `Debug`.
pub(crate) struct Short<'a>(pub(crate) &'a [u8]);

impl core::fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let head = self.0.get(..8).unwrap_or(self.0);
        write!(f, "{:?}…", Hex(head))
    }
}

pub(crate) use identity::{parse_ed25519, random_secret, sign, verifies_strictly};
pub(crate) use prekey::{
    CanonicalX25519, X25519PublicKey, canonical_x25519, x25519_public as prekey_x25519,
};
