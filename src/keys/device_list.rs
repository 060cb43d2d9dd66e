//! A user's device list: which devices belong to the user, signed by the
//! user identity key, versioned, and chained by hash to the version before
//! (PROTOCOL.md §12). The byte layout is in `wire/device_list.rs`.

use core::fmt;

use super::{IdentityKey, Short, UserIdentityKey, UserIdentityKeyPair};
use crate::address::UserAddress;
use crate::crypto::kdf::sha256;
use crate::crypto::labels::{DEVICE_LIST_HASH, SIG_DEVICE_LIST};
use crate::error::{DecodeError, DeviceListError, MisuseError, ProtocolError, SignedObject};
use crate::limits::MAX_DEVICES_PER_USER;
use crate::wire::{
    DEVICE_LIST_HASH_LEN, DeviceEntryFrame, DeviceListBodyFrame, DeviceListFrame, Frame,
    SIGNATURE_LEN, UserAddressFrame,
};

/// One device on a list: its id, its identity key, and when the user added
/// it (seconds since the Unix epoch, as the signing device's app gave it).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceListEntry {
    device_id: u32,
    identity_key: IdentityKey,
    added_at: u64,
}

impl DeviceListEntry {
    /// The device id (the last part of its
    /// [`DeviceAddress`](crate::DeviceAddress)).
    pub fn device_id(&self) -> u32 {
        self.device_id
    }

    /// The device's identity key.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }

    /// When the device was added, as the list says.
    pub fn added_at(&self) -> u64 {
        self.added_at
    }

    fn frame(&self) -> DeviceEntryFrame {
        DeviceEntryFrame {
            device_id: self.device_id,
            identity_key: self.identity_key.to_bytes(),
            added_at: self.added_at,
        }
    }
}

/// A user's device list, decoded and checked but not yet verified
/// (PROTOCOL.md §12): the user identity key, the user's address, a version
/// (from 1), the hash of the previous version (all zero for version 1), a
/// creation time, and 1 to [`MAX_DEVICES_PER_USER`] devices in ascending
/// order of id, signed by the user identity key.
///
/// [`DeviceList::from_bytes`] checks, in this order: the structure front to
/// back (version, type, suite, each id length before its id, a list version
/// of 0, the device count before the entries, no trailing bytes); the user
/// key, then every device identity key in order (`InvalidKey`); then
/// consistency (`InvalidField`): the previous hash all zero if and only if
/// the version is 1, device ids strictly ascending, device identity keys
/// pairwise distinct. [`DeviceList::verify`] checks the signature; only the
/// [`VerifiedDeviceList`] it returns says anything about the user's
/// devices. For every accepted `b`, `DeviceList::from_bytes(b)?.to_bytes() == b`.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceList {
    user_key: UserIdentityKey,
    address: UserAddress,
    version: u64,
    previous_hash: [u8; DEVICE_LIST_HASH_LEN],
    created_at: u64,
    devices: Vec<DeviceListEntry>,
    /// The encoding, signature last: what `to_bytes` returns, what the
    /// signature covers (all but the signature) and what the hash covers.
    encoding: Vec<u8>,
}

impl DeviceList {
    /// Signs the first device list of a user (version 1, no previous hash).
    ///
    /// `devices` are `(device id, identity key, added at)`, in any order;
    /// the list holds them in ascending order of id.
    ///
    /// # Errors
    /// [`MisuseError::DeviceCount`] for no device or more than
    /// [`MAX_DEVICES_PER_USER`], [`MisuseError::DuplicateDeviceId`],
    /// [`MisuseError::DuplicateDeviceKey`].
    pub fn first<'a>(
        user: &UserIdentityKeyPair,
        address: &UserAddress,
        created_at: u64,
        devices: impl IntoIterator<Item = (u32, &'a IdentityKey, u64)>,
    ) -> crate::Result<VerifiedDeviceList> {
        let unsigned = Unsigned {
            address: address.clone(),
            version: 1,
            previous_hash: [0; DEVICE_LIST_HASH_LEN],
            created_at,
            devices: entries(devices)?,
        };
        Ok(unsigned.sign(user))
    }

    /// Decodes a device list, validates every key in it and checks its
    /// consistency (see [`DeviceList`] for the order). The signature is
    /// checked by [`DeviceList::verify`].
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::DeviceList`](crate::WireType::DeviceList) for malformed
    /// bytes (`LengthOutOfRange` for an id length or device count out of
    /// range, `InvalidField` for a list version of 0 or an inconsistent
    /// list: field `previous_hash` with the list version as `found`, or
    /// `device_id` / `identity_key` with the offending device's id), and `InvalidKey` with [`KeyKind::UserIdentity`](crate::KeyKind::UserIdentity)
    /// or [`KeyKind::Identity`](crate::KeyKind::Identity) for an invalid key.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = DeviceListFrame::decode(bytes)?;
        let b = frame.body;
        let address = b.address.to_address()?;
        let user_key = UserIdentityKey::from_bytes(&b.user_key)?;
        let devices = b
            .devices
            .iter()
            .map(|d| {
                Ok(DeviceListEntry {
                    device_id: d.device_id,
                    identity_key: IdentityKey::from_bytes(&d.identity_key)?,
                    added_at: d.added_at,
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        check_consistency(b.list_version, &b.previous_hash, &devices)?;
        Ok(DeviceList {
            user_key,
            address,
            version: b.list_version,
            previous_hash: b.previous_hash,
            created_at: b.created_at,
            devices,
            encoding: bytes.to_vec(),
        })
    }

    /// Checks the signature: the user identity key the list names signed
    /// `"KINSEAL-v1 device list\0" ‖` every byte before the signature.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`] with [`SignedObject::DeviceList`].
    ///
    /// # Security
    /// Verification proves the user key signed this list, not that the
    /// user key belongs to the person you mean, nor that this is the
    /// user's latest list: compare the key with the one you hold for the
    /// user, and the list with the last one you verified
    /// ([`VerifiedDeviceList::check_successor`]).
    pub fn verify(self) -> crate::Result<VerifiedDeviceList> {
        let invalid = ProtocolError::InvalidSignature {
            object: SignedObject::DeviceList,
        };
        let (body, signature) = self
            .encoding
            .split_last_chunk::<SIGNATURE_LEN>()
            .ok_or(invalid)?;
        self.user_key.verify(
            SignedObject::DeviceList,
            SIG_DEVICE_LIST,
            &[body],
            signature,
        )?;
        let hash = sha256(&[DEVICE_LIST_HASH, &self.encoding]);
        Ok(VerifiedDeviceList { list: self, hash })
    }

    /// The encoding, exactly as decoded or signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoding.clone()
    }

    /// The encoding, borrowed.
    pub(crate) fn encoding(&self) -> &[u8] {
        &self.encoding
    }

    /// The user identity key that signed (or claims to have signed) the list.
    pub fn user_key(&self) -> &UserIdentityKey {
        &self.user_key
    }

    /// The user the list is of.
    pub fn address(&self) -> &UserAddress {
        &self.address
    }

    /// The list's version, from 1.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The hash of the list of the version before; all zero for version 1.
    pub fn previous_hash(&self) -> &[u8; DEVICE_LIST_HASH_LEN] {
        &self.previous_hash
    }

    /// When the list was signed, as the signing device's app gave it.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The devices, in ascending order of id.
    pub fn devices(&self) -> impl ExactSizeIterator<Item = &DeviceListEntry> + '_ {
        self.devices.iter()
    }

    /// The device with this id, if the list has it.
    pub fn device(&self, device_id: u32) -> Option<&DeviceListEntry> {
        self.devices
            .binary_search_by_key(&device_id, |d| d.device_id)
            .ok()
            .and_then(|i| self.devices.get(i))
    }
}

impl fmt::Debug for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceList")
            .field("user_key", &self.user_key)
            .field("address", &self.address)
            .field("version", &self.version)
            .field("previous_hash", &Short(&self.previous_hash))
            .field("created_at", &self.created_at)
            .field("devices", &self.devices)
            .finish()
    }
}

/// A device list whose signature has been checked, with its hash. The
/// only ways to get one are [`DeviceList::verify`], [`DeviceList::first`]
/// and [`VerifiedDeviceList::next`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedDeviceList {
    list: DeviceList,
    hash: [u8; DEVICE_LIST_HASH_LEN],
}

impl VerifiedDeviceList {
    /// Signs the list that follows this one: version + 1, with this list's
    /// hash as its previous hash, and `devices` (as in
    /// [`DeviceList::first`]) as its whole device set.
    ///
    /// # Errors
    /// As [`DeviceList::first`]; also [`MisuseError::WrongUserKey`] when
    /// `user` is not the key that signed this list (a new user key starts
    /// a new history with [`DeviceList::first`]), and
    /// [`MisuseError::DeviceListVersionExhausted`] at version `u64::MAX`.
    pub fn next<'a>(
        &self,
        user: &UserIdentityKeyPair,
        created_at: u64,
        devices: impl IntoIterator<Item = (u32, &'a IdentityKey, u64)>,
    ) -> crate::Result<VerifiedDeviceList> {
        if *user.public_key() != self.list.user_key {
            return Err(MisuseError::WrongUserKey.into());
        }
        let version = self
            .list
            .version
            .checked_add(1)
            .ok_or(MisuseError::DeviceListVersionExhausted)?;
        let unsigned = Unsigned {
            address: self.list.address.clone(),
            version,
            previous_hash: self.hash,
            created_at,
            devices: entries(devices)?,
        };
        Ok(unsigned.sign(user))
    }

    /// The list's hash: SHA-256 of `"KINSEAL-v1 device list hash\0" ‖` the
    /// whole encoding, signature included. The next version names it as
    /// its previous hash.
    pub fn hash(&self) -> &[u8; DEVICE_LIST_HASH_LEN] {
        &self.hash
    }

    /// The verified list.
    pub fn list(&self) -> &DeviceList {
        &self.list
    }

    /// Gives the list back.
    pub fn into_list(self) -> DeviceList {
        self.list
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.list.to_bytes()
    }

    /// The user identity key that signed the list.
    pub fn user_key(&self) -> &UserIdentityKey {
        self.list.user_key()
    }

    /// The user the list is of.
    pub fn address(&self) -> &UserAddress {
        self.list.address()
    }

    /// The list's version, from 1.
    pub fn version(&self) -> u64 {
        self.list.version()
    }

    /// The hash of the list of the version before; all zero for version 1.
    pub fn previous_hash(&self) -> &[u8; DEVICE_LIST_HASH_LEN] {
        self.list.previous_hash()
    }

    /// When the list was signed.
    pub fn created_at(&self) -> u64 {
        self.list.created_at()
    }

    /// The devices, in ascending order of id.
    pub fn devices(&self) -> impl ExactSizeIterator<Item = &DeviceListEntry> + '_ {
        self.list.devices()
    }

    /// The device with this id, if the list has it.
    pub fn device(&self, device_id: u32) -> Option<&DeviceListEntry> {
        self.list.device(device_id)
    }

    /// Checks that `next` may replace this list, which the caller holds as
    /// the user's latest, and says what changed (PROTOCOL.md §12.4).
    ///
    /// In this order: the same user key, else
    /// [`DeviceListError::UserKeyChanged`]; the same address, else
    /// [`DeviceListError::AddressMismatch`]; then by version: older is a
    /// [`Rollback`](DeviceListError::Rollback); equal is
    /// [`DeviceListUpdate::Unchanged`] if the hashes are equal, else a
    /// [`Fork`](DeviceListError::Fork) of this version; one more is
    /// [`DeviceListUpdate::Advanced`] if its previous hash is this list's
    /// hash, else a `Fork` of this version (another list of this version
    /// exists, the one it names); more than one more is a
    /// [`Gap`](DeviceListError::Gap) (see [`VerifiedDeviceList::check_chain`]).
    ///
    /// # Security
    /// This detects a server that shows one observer an older list, or two
    /// different lists of one version. It cannot detect a fork shown
    /// consistently to disjoint sets of observers (docs/SECURITY.md).
    ///
    /// # Errors
    /// The [`DeviceListError`] above.
    pub fn check_successor(
        &self,
        next: &VerifiedDeviceList,
    ) -> Result<DeviceListUpdate, DeviceListError> {
        let (ours, theirs) = (&self.list, &next.list);
        if ours.user_key != theirs.user_key {
            return Err(DeviceListError::UserKeyChanged);
        }
        if ours.address != theirs.address {
            return Err(DeviceListError::AddressMismatch);
        }
        let (current, found) = (ours.version, theirs.version);
        if found < current {
            return Err(DeviceListError::Rollback { current, found });
        }
        if found == current {
            return if self.hash == next.hash {
                Ok(DeviceListUpdate::Unchanged)
            } else {
                Err(DeviceListError::Fork { version: current })
            };
        }
        if found - current > 1 {
            return Err(DeviceListError::Gap { current, found });
        }
        if theirs.previous_hash != self.hash {
            return Err(DeviceListError::Fork { version: current });
        }
        Ok(diff(ours, theirs))
    }

    /// Checks a run of lists that starts after this one, each by
    /// [`VerifiedDeviceList::check_successor`] of the one before (so a list
    /// given twice in a row is accepted, and a gap, rollback or fork
    /// anywhere is refused), and returns the change from this list to the
    /// last: [`DeviceListUpdate::Unchanged`] when the last is this list,
    /// else the net change (a device added and removed again in between
    /// does not appear).
    ///
    /// # Errors
    /// The first [`DeviceListError`] of the walk.
    pub fn check_chain(
        &self,
        lists: &[VerifiedDeviceList],
    ) -> Result<DeviceListUpdate, DeviceListError> {
        let mut current = self;
        for next in lists {
            current.check_successor(next)?;
            current = next;
        }
        if current.hash == self.hash {
            return Ok(DeviceListUpdate::Unchanged);
        }
        Ok(diff(&self.list, &current.list))
    }
}

/// What a successor list changes (see
/// [`VerifiedDeviceList::check_successor`]).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum DeviceListUpdate {
    /// The same list, byte for byte.
    Unchanged,
    /// A later version. Each collection is in ascending order of id; all
    /// three are empty when the later version lists the same devices with
    /// the same keys (only its times or its version changed).
    Advanced {
        /// Devices whose id the earlier list does not have.
        added: Vec<DeviceListEntry>,
        /// Devices whose id the later list does not have.
        removed: Vec<DeviceListEntry>,
        /// Devices whose id both have, under different identity keys: a
        /// reinstalled or replaced device, to be treated as a new one.
        replaced: Vec<ReplacedDevice>,
    },
}

/// A device id listed in both lists with different identity keys.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReplacedDevice {
    before: DeviceListEntry,
    after: DeviceListEntry,
}

impl ReplacedDevice {
    /// The device id.
    pub fn device_id(&self) -> u32 {
        self.after.device_id
    }

    /// The entry in the earlier list.
    pub fn before(&self) -> &DeviceListEntry {
        &self.before
    }

    /// The entry in the later list.
    pub fn after(&self) -> &DeviceListEntry {
        &self.after
    }
}

/// A list's contents before it is signed.
struct Unsigned {
    address: UserAddress,
    version: u64,
    previous_hash: [u8; DEVICE_LIST_HASH_LEN],
    created_at: u64,
    devices: Vec<DeviceListEntry>,
}

impl Unsigned {
    fn sign(self, user: &UserIdentityKeyPair) -> VerifiedDeviceList {
        let body = DeviceListBodyFrame {
            user_key: user.public_key().to_bytes(),
            address: UserAddressFrame::of(&self.address),
            list_version: self.version,
            previous_hash: self.previous_hash,
            created_at: self.created_at,
            devices: self.devices.iter().map(DeviceListEntry::frame).collect(),
        };
        let mut encoding = body.to_vec_with_room();
        let signature = user.sign(SIG_DEVICE_LIST, &[&encoding]);
        encoding.extend_from_slice(&signature);
        let hash = sha256(&[DEVICE_LIST_HASH, &encoding]);
        let list = DeviceList {
            user_key: user.public_key().clone(),
            address: self.address,
            version: self.version,
            previous_hash: self.previous_hash,
            created_at: self.created_at,
            devices: self.devices,
            encoding,
        };
        VerifiedDeviceList { list, hash }
    }
}

/// The devices a caller gives, sorted by id and checked as a decoder would.
fn entries<'a>(
    devices: impl IntoIterator<Item = (u32, &'a IdentityKey, u64)>,
) -> crate::Result<Vec<DeviceListEntry>> {
    let mut given = devices.into_iter();
    // At most one more than allowed is read, however many are given.
    let mut out: Vec<DeviceListEntry> = given
        .by_ref()
        .take(MAX_DEVICES_PER_USER + 1)
        .map(|(device_id, key, added_at)| DeviceListEntry {
            device_id,
            identity_key: key.clone(),
            added_at,
        })
        .collect();
    let found = out.len() + given.count();
    if out.is_empty() || found > MAX_DEVICES_PER_USER {
        return Err(MisuseError::DeviceCount {
            min: 1,
            max: MAX_DEVICES_PER_USER,
            found,
        }
        .into());
    }
    out.sort_by_key(|d| d.device_id);
    for pair in out.windows(2) {
        if let [a, b] = pair
            && a.device_id == b.device_id
        {
            return Err(MisuseError::DuplicateDeviceId {
                device_id: b.device_id,
            }
            .into());
        }
    }
    if let Some(device_id) = repeated_key(&out) {
        return Err(MisuseError::DuplicateDeviceKey { device_id }.into());
    }
    Ok(out)
}

/// The id of the first device (in list order) whose identity key an
/// earlier device has.
fn repeated_key(devices: &[DeviceListEntry]) -> Option<u32> {
    devices.iter().enumerate().find_map(|(i, d)| {
        devices
            .get(..i)
            .is_some_and(|earlier| earlier.iter().any(|e| e.identity_key == d.identity_key))
            .then_some(d.device_id)
    })
}

/// The consistency checks of decoding, in field order.
fn check_consistency(
    version: u64,
    previous_hash: &[u8; DEVICE_LIST_HASH_LEN],
    devices: &[DeviceListEntry],
) -> Result<(), DecodeError> {
    let invalid = |field, found| DecodeError::InvalidField {
        wire_type: crate::WireType::DeviceList,
        field,
        found,
    };
    let zero = previous_hash.iter().all(|&b| b == 0);
    if zero != (version == 1) {
        return Err(invalid(
            "previous_hash",
            u32::try_from(version).unwrap_or(u32::MAX),
        ));
    }
    for pair in devices.windows(2) {
        if let [a, b] = pair
            && a.device_id >= b.device_id
        {
            return Err(invalid("device_id", b.device_id));
        }
    }
    if let Some(device_id) = repeated_key(devices) {
        return Err(invalid("identity_key", device_id));
    }
    Ok(())
}

/// What changed from `old` to `new`, both sorted by id.
fn diff(old: &DeviceList, new: &DeviceList) -> DeviceListUpdate {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut replaced = Vec::new();
    for d in &new.devices {
        match old.device(d.device_id) {
            None => added.push(d.clone()),
            Some(o) if o.identity_key != d.identity_key => replaced.push(ReplacedDevice {
                before: o.clone(),
                after: d.clone(),
            }),
            Some(_) => {}
        }
    }
    for o in &old.devices {
        if new.device(o.device_id).is_none() {
            removed.push(o.clone());
        }
    }
    DeviceListUpdate::Advanced {
        added,
        removed,
        replaced,
    }
}
