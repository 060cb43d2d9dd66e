//! Encryption at rest: storage keys, the keyring, and sealing records.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::StorageError;
use crate::address::{DeviceAddress, UserAddress};
use crate::crypto::{labels, seal};
use crate::error::MisuseError;
use crate::group::GroupId;
use crate::limits::{MAX_APP_ID_LEN, MAX_STORAGE_KEYS, MAX_USER_ID_LEN};
use crate::sizes::{GROUP_ID_LEN, SEAL_NONCE_LEN};
use crate::wire::{
    DeviceAddressFrame, Frame, MAX_SEALED_PLAINTEXT_LEN, SealedFrame, UserAddressFrame,
};

/// A key that seals a client's records at rest, with the id that names it
/// inside every record it sealed.
///
/// Where the key comes from is the app's business: the platform keystore
/// (Keychain, Android Keystore), a key wrapped by the user's passphrase, a
/// hardware token. kinseal derives its sealing key from it with HKDF, so
/// the same bytes can safely key something else of the app's too.
pub struct StorageKey {
    id: u32,
    sealing: Zeroizing<[u8; 32]>,
}

impl StorageKey {
    /// A storage key from 32 secret bytes and an id of the caller's choice
    /// (distinct from the ids of the other keys in the keyring).
    pub fn new(id: u32, secret: &[u8; 32]) -> Self {
        StorageKey {
            id,
            sealing: seal::derive_key(secret),
        }
    }

    /// A storage key from secret bytes kept by the app, such as the
    /// [`SecretBytes`](crate::SecretBytes) that
    /// [`StorageKey::generate_with_secret`] returned, read back from the
    /// platform keystore.
    ///
    /// # Errors
    /// [`MisuseError::KeyLength`] unless `secret` is 32 bytes long.
    pub fn from_slice(id: u32, secret: &[u8]) -> crate::Result<Self> {
        let secret: &[u8; 32] = secret.try_into().map_err(|_| MisuseError::KeyLength {
            expected: 32,
            found: secret.len(),
        })?;
        Ok(Self::new(id, secret))
    }

    /// A fresh random storage key. Keep its secret with
    /// [`StorageKey::generate_with_secret`] instead when the app has to
    /// store it itself.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: u32) -> Self {
        Self::generate_with_secret(rng, id).0
    }

    /// A fresh random storage key and its 32 secret bytes, for the app to
    /// keep in its keystore and give back to [`StorageKey::from_slice`].
    pub fn generate_with_secret<R: CryptoRng + ?Sized>(
        rng: &mut R,
        id: u32,
    ) -> (Self, crate::SecretBytes) {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut secret[..]);
        let key = Self::new(id, &secret);
        (
            key,
            crate::SecretBytes::new(Zeroizing::new(secret.to_vec())),
        )
    }

    /// The key's id.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for StorageKey {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(key: &StorageKey) {
    let StorageKey { id: _, sealing } = key;
    crate::hygiene::zod(sealing);
}

/// The storage keys a client can open records with: the current one, which
/// seals every write, and up to [`MAX_STORAGE_KEYS`] − 1 earlier ones,
/// kept while records sealed under them remain.
///
/// To rotate: build a keyring with the new key as current and the old one
/// as previous, call [`Account::reseal_all`](super::Account::reseal_all),
/// then drop the old key. Records are also resealed under the current key
/// whenever they are written.
pub struct StorageKeyring {
    current: StorageKey,
    previous: Vec<StorageKey>,
}

impl StorageKeyring {
    /// A keyring holding one key.
    pub fn new(current: StorageKey) -> Self {
        StorageKeyring {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds an earlier key, still accepted for opening records.
    ///
    /// # Errors
    /// [`MisuseError::BatchTooLarge`] beyond [`MAX_STORAGE_KEYS`] keys;
    /// [`MisuseError::ConfigOutOfRange`] (parameter `"storage key id"`) if
    /// the id is already in the keyring.
    pub fn with_previous(mut self, key: StorageKey) -> crate::Result<Self> {
        if self.previous.len() + 1 >= MAX_STORAGE_KEYS {
            return Err(MisuseError::BatchTooLarge {
                max: MAX_STORAGE_KEYS,
                found: self.previous.len() + 2,
            }
            .into());
        }
        if self.key(key.id).is_some() {
            return Err(MisuseError::ConfigOutOfRange {
                parameter: "storage key id",
                min: 0,
                max: u64::from(u32::MAX),
                found: u64::from(key.id),
            }
            .into());
        }
        self.previous.push(key);
        Ok(self)
    }

    /// The id of the key that seals every write.
    pub fn current_id(&self) -> u32 {
        self.current.id
    }

    fn key(&self, id: u32) -> Option<&StorageKey> {
        core::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }

    /// Seals a record under the current key, bound to where it is stored
    /// so that it cannot be moved elsewhere in the store.
    ///
    /// [`Account`](super::Account) seals everything it stores; this is
    /// public for tools that migrate or inspect a store.
    ///
    /// # Errors
    /// [`MisuseError::PlaintextTooLong`] for a record longer than the
    /// largest session set a store may hold.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        key: RecordKey<'_>,
        plaintext: &[u8],
    ) -> crate::Result<Vec<u8>> {
        let too_long = MisuseError::PlaintextTooLong {
            max: MAX_SEALED_PLAINTEXT_LEN,
            found: plaintext.len(),
        };
        if plaintext.len() > MAX_SEALED_PLAINTEXT_LEN {
            return Err(too_long.into());
        }
        self.seal_part(rng, labels::STORAGE_AD, key, &[], plaintext)
            .map_err(|()| too_long.into())
    }

    /// Seals `plaintext` under the current key with associated data
    /// `label ‖ header ‖ table ‖ locator ‖ bound` (STORAGE.md §2.3, §2.5).
    /// Fails only for a plaintext XChaCha20 cannot take, far beyond what
    /// callers pass.
    fn seal_part<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        label: &[u8],
        key: RecordKey<'_>,
        bound: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ()> {
        let (table, locator) = key.table_and_locator();
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut out = SealedFrame::header(self.current.id, &nonce);
        let ad = associated_data(label, &out, table, &locator, bound);
        let sealed = seal::seal(&self.current.sealing, &nonce, &ad, plaintext)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed record's frame under the associated data that
    /// [`StorageKeyring::seal_part`] builds.
    fn open_part(
        &self,
        label: &[u8],
        key: RecordKey<'_>,
        bound: &[u8],
        frame: &SealedFrame<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        let (table, locator) = key.table_and_locator();
        let sealing = self
            .key(frame.key_id)
            .ok_or(StorageError::UnknownStorageKey {
                key_id: frame.key_id,
            })?;
        let header = SealedFrame::header(frame.key_id, &frame.nonce);
        let ad = associated_data(label, &header, table, &locator, bound);
        seal::open(&sealing.sealing, &frame.nonce, &ad, frame.ciphertext)
            .map_err(|()| StorageError::SealBroken { table })
    }

    /// Opens a record sealed for `key`.
    ///
    /// # Errors
    /// [`StorageError::InvalidRecord`] if the bytes are not a sealed record;
    /// [`StorageError::UnknownStorageKey`] if its key is not in the keyring;
    /// [`StorageError::SealBroken`] if it does not authenticate (it was
    /// altered, sealed for another place, or under another key with the
    /// same id).
    pub fn open(&self, key: RecordKey<'_>, sealed: &[u8]) -> crate::Result<crate::SecretBytes> {
        Ok(crate::SecretBytes::new(self.open_raw(key, sealed)?))
    }

    pub(crate) fn open_raw(
        &self,
        key: RecordKey<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        Ok(self.open_with_base(key, sealed)?.0)
    }

    /// Whether a stored record was sealed under another key than the
    /// current one (either part of a split record), or is not a stored
    /// record at all.
    pub(crate) fn is_stale(&self, sealed: &[u8]) -> bool {
        let current = |f: &SealedFrame<'_>| f.key_id == self.current.id;
        match split::parts(sealed) {
            Some(Ok((cold, hot))) => !(current(&cold) && current(&hot)),
            Some(Err(_)) => true,
            None => SealedFrame::decode(sealed).map_or(true, |f| !current(&f)),
        }
    }
}

mod split;
pub(crate) use split::SealBase;

/// Where a record lives in a client store: its table and, within it, its
/// key. A sealed record is bound to its place and opens nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKey<'a> {
    /// The account record.
    Account,
    /// A peer device's identity record.
    PeerIdentity(&'a DeviceAddress),
    /// A user's record: its user key and latest device list.
    PeerUser(&'a UserAddress),
    /// A signed prekey, by id.
    SignedPreKey(u32),
    /// A one-time X25519 prekey, by id.
    OneTimePreKey(u32),
    /// A one-time ML-KEM prekey, by id.
    KemPreKey(u32),
    /// A last-resort ML-KEM prekey, by id.
    LastResortKemPreKey(u32),
    /// A peer device's sessions.
    Sessions(&'a DeviceAddress),
    /// A group's state and this device's sender key for it.
    Group(&'a GroupId),
    /// The sender keys one device sent for one group.
    GroupSenderKeys(&'a GroupId, &'a DeviceAddress),
}

impl RecordKey<'_> {
    /// The table's name, as in errors and in the SQLite schema.
    pub fn table(&self) -> &'static str {
        let [
            account,
            peers,
            users,
            signed,
            one_time,
            kem,
            last_resort,
            sessions,
            groups,
            group_sender_keys,
        ] = TABLES;
        match self {
            RecordKey::Account => account,
            RecordKey::PeerIdentity(_) => peers,
            RecordKey::PeerUser(_) => users,
            RecordKey::SignedPreKey(_) => signed,
            RecordKey::OneTimePreKey(_) => one_time,
            RecordKey::KemPreKey(_) => kem,
            RecordKey::LastResortKemPreKey(_) => last_resort,
            RecordKey::Sessions(_) => sessions,
            RecordKey::Group(_) => groups,
            RecordKey::GroupSenderKeys(..) => group_sender_keys,
        }
    }

    /// The table and the locator bytes: empty for the account, the id as a
    /// big-endian u32, or a device (or user) address in its embedded form
    /// (PROTOCOL.md §4.5): `len(app) u8 ‖ app ‖ len(user) u16 ‖ user
    /// [‖ device u32]`; for a group, its 32-byte id, followed for a
    /// sender's keys by the sender's embedded address.
    fn table_and_locator(&self) -> (&'static str, Vec<u8>) {
        let locator = match self {
            RecordKey::Account => Vec::new(),
            RecordKey::SignedPreKey(id)
            | RecordKey::OneTimePreKey(id)
            | RecordKey::KemPreKey(id)
            | RecordKey::LastResortKemPreKey(id) => id.to_be_bytes().to_vec(),
            RecordKey::PeerIdentity(a) | RecordKey::Sessions(a) => {
                DeviceAddressFrame::of(a).embedded()
            }
            RecordKey::PeerUser(u) => UserAddressFrame::of(u).embedded(),
            RecordKey::Group(g) => g.as_bytes().to_vec(),
            RecordKey::GroupSenderKeys(g, d) => {
                let mut locator = g.as_bytes().to_vec();
                locator.extend_from_slice(&DeviceAddressFrame::of(d).embedded());
                locator
            }
        };
        (self.table(), locator)
    }
}

impl fmt::Debug for StorageKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageKeyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Every table name a [`RecordKey`] has.
const TABLES: [&str; 10] = [
    "account",
    "peer_identities",
    "peer_users",
    "signed_prekeys",
    "one_time_prekeys",
    "kem_prekeys",
    "last_resort_kem_prekeys",
    "sessions",
    "groups",
    "group_sender_keys",
];
/// The longest locator: an address at its bounds.
const MAX_LOCATOR_LEN: usize = GROUP_ID_LEN + 1 + MAX_APP_ID_LEN + 2 + MAX_USER_ID_LEN + 4;

// The associated data writes a table name's length in one byte and a
// locator's in four: every name and every locator fits, so the casts in
// `associated_data` never truncate. (Evaluated by the compiler: an index
// out of range here is a build error, not a panic.)
#[allow(clippy::indexing_slicing)]
const _: () = {
    let mut i = 0;
    while i < TABLES.len() {
        assert!(TABLES[i].len() <= u8::MAX as usize);
        i += 1;
    }
    assert!(MAX_LOCATOR_LEN <= u32::MAX as usize);
};

/// `label ‖ header ‖ len(table) ‖ table ‖ len(locator) ‖ locator ‖
/// bound`, with one-byte and four-byte big-endian lengths. `bound` is
/// empty except for a split record's hot part (STORAGE.md §2.5).
fn associated_data(
    label: &[u8],
    header: &[u8],
    table: &'static str,
    locator: &[u8],
    bound: &[u8],
) -> Vec<u8> {
    let mut ad = Vec::with_capacity(
        label.len() + header.len() + 1 + table.len() + 4 + locator.len() + bound.len(),
    );
    ad.extend_from_slice(label);
    ad.extend_from_slice(header);
    // Both fit, as checked at compile time above.
    ad.push(table.len() as u8);
    ad.extend_from_slice(table.as_bytes());
    ad.extend_from_slice(&(locator.len() as u32).to_be_bytes());
    ad.extend_from_slice(locator);
    ad.extend_from_slice(bound);
    ad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsRng;

    #[test]
    fn a_generated_secret_gives_the_same_key_back() {
        let (key, secret) = StorageKey::generate_with_secret(&mut OsRng, 4);
        let again = StorageKey::from_slice(4, &secret).unwrap();
        let peer = DeviceAddress::new(b"app", b"peer", 1).unwrap();
        let here = RecordKey::Sessions(&peer);
        let sealed = StorageKeyring::new(key)
            .seal(&mut OsRng, here, b"x")
            .unwrap();
        let opened = StorageKeyring::new(again).open_raw(here, &sealed).unwrap();
        assert_eq!(&opened[..], b"x");
        assert!(matches!(
            StorageKey::from_slice(4, &secret[..31]),
            Err(crate::Error::Misuse(MisuseError::KeyLength {
                expected: 32,
                found: 31
            }))
        ));
    }

    #[test]
    fn a_record_opens_only_where_it_was_sealed_and_under_a_known_key() {
        let peer = DeviceAddress::new(b"app", b"peer", 1).unwrap();
        let other = DeviceAddress::new(b"app", b"peer", 2).unwrap();
        let here = RecordKey::Sessions(&peer);
        let old = StorageKey::new(1, &[1; 32]);
        let ring = StorageKeyring::new(old);
        let sealed = ring.seal(&mut OsRng, here, b"state").unwrap();
        assert_eq!(&ring.open_raw(here, &sealed).unwrap()[..], b"state");
        assert_eq!(
            ring.open_raw(RecordKey::Sessions(&other), &sealed),
            Err(StorageError::SealBroken { table: "sessions" })
        );
        assert_eq!(
            ring.open_raw(RecordKey::PeerIdentity(&peer), &sealed),
            Err(StorageError::SealBroken {
                table: "peer_identities"
            })
        );
        let prekey = ring
            .seal(&mut OsRng, RecordKey::OneTimePreKey(1), b"k")
            .unwrap();
        assert!(ring.open_raw(RecordKey::KemPreKey(1), &prekey).is_err());
        assert!(ring.open_raw(RecordKey::OneTimePreKey(2), &prekey).is_err());

        let rotated = StorageKeyring::new(StorageKey::new(2, &[2; 32]))
            .with_previous(StorageKey::new(1, &[1; 32]))
            .unwrap();
        assert!(rotated.is_stale(&sealed));
        assert_eq!(&rotated.open_raw(here, &sealed).unwrap()[..], b"state");
        let fresh = rotated.seal(&mut OsRng, here, b"state").unwrap();
        assert!(!rotated.is_stale(&fresh));

        let new_only = StorageKeyring::new(StorageKey::new(2, &[2; 32]));
        assert_eq!(
            new_only.open_raw(here, &sealed),
            Err(StorageError::UnknownStorageKey { key_id: 1 })
        );
        // Same id, different secret: the seal does not open.
        let impostor = StorageKeyring::new(StorageKey::new(1, &[3; 32]));
        assert_eq!(
            impostor.open_raw(here, &sealed),
            Err(StorageError::SealBroken { table: "sessions" })
        );
        assert_eq!(
            ring.open_raw(here, b"junk"),
            Err(StorageError::InvalidRecord { table: "sessions" })
        );
    }

    #[test]
    fn keyring_ids_are_distinct_and_bounded() {
        let ring = StorageKeyring::new(StorageKey::new(1, &[1; 32]));
        assert!(ring.with_previous(StorageKey::new(1, &[2; 32])).is_err());
        let mut ring = StorageKeyring::new(StorageKey::new(0, &[0; 32]));
        for id in 1..MAX_STORAGE_KEYS as u32 {
            ring = ring.with_previous(StorageKey::new(id, &[0; 32])).unwrap();
        }
        assert!(ring.with_previous(StorageKey::new(999, &[0; 32])).is_err());
    }
}
