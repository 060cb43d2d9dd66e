//! The `Account` object: one device of one person, over a sealed SQLite
//! file or an in-memory store. Every method is one call of
//! `kinseal::client::Account`; this file only converts arguments and
//! results.

use std::sync::{Arc, Mutex};

use kinseal::OsRng;
use kinseal::client::{self as kc, MemoryStore, SqliteStore, StorageKey, StorageKeyring};
use zeroize::Zeroizing;

use crate::error::{CallbackFailed, KinsealError, Result};
use crate::link::Provisioned;
use crate::policy::{AccountConfig, Policy, TrustPolicy, configure};
use crate::safety::SafetyNumber;
use crate::types::{
    self, DecryptOutcome, Decrypted, DeviceAddress, DeviceList, DeviceListChange, Envelope, FanOut,
    IdentityStatus, KnownIdentity, KnownUser, LinkedDevice, PreKeyCounts, ReceiptOutcome,
    SyncReport, UserAddress,
};

/// Where the app keeps the plaintext of a message it decrypts, called
/// inside the store transaction of `decrypt_with`: raise to refuse, and
/// nothing the decryption would have changed is stored (the message can
/// be decrypted again later).
#[uniffi::export(callback_interface)]
pub trait Delivery: Send + Sync {
    /// Stores `message` in the app's own database. Raising refuses it.
    fn deliver(&self, message: Decrypted) -> Result<()>;
}

/// Fetches a device's prekey bundle from the app's server, for
/// `sync_sessions`.
#[uniffi::export(callback_interface)]
pub trait BundleFetcher: Send + Sync {
    /// The bundle bytes the directory gave out for `device`. Raising fails
    /// that device only (it is in the report's `failed`).
    fn fetch_bundle(&self, device: DeviceAddress) -> Result<Vec<u8>>;
}

/// Fetches device lists from the app's server, for
/// `refresh_device_lists`.
#[uniffi::export(callback_interface)]
pub trait DeviceListFetcher: Send + Sync {
    /// The latest list of `user` when `held` is `None` (first contact),
    /// else the lists after version `held`, oldest first.
    fn fetch_device_lists(&self, user: UserAddress, held: Option<u64>) -> Result<Vec<Vec<u8>>>;
}

/// The store behind an account. `kinseal::client::Account` is generic over
/// its store, so the object holds one of the two kinds. (Both are large
/// and the object lives behind an `Arc` already: no box.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Inner {
    Sqlite(kc::Account<SqliteStore, Policy>),
    Memory(kc::Account<MemoryStore, Policy>),
}

/// Runs `$body` with `$a` bound to the account, whichever its store.
macro_rules! with {
    ($self:ident, $a:ident => $body:expr) => {
        match &$self.inner {
            $crate::account::Inner::Sqlite($a) => $body,
            $crate::account::Inner::Memory($a) => $body,
        }
    };
}
pub(crate) use with;

/// One device of one person: its keys, sessions, device lists, trust
/// records and groups, in a store sealed under the app's storage key.
/// Safe to share between threads; each call is one store transaction.
#[derive(uniffi::Object)]
pub struct Account {
    pub(crate) inner: Inner,
}

/// A storage key the account was sealed under before the current one:
/// `Account.open` needs it to open records sealed under it until
/// `reseal_all` has moved them to the current key.
#[derive(uniffi::Record)]
pub struct PreviousStorageKey {
    /// The key's id, as given when it was current.
    pub key_id: u32,
    /// The 32-byte key.
    pub storage_key: Vec<u8>,
}

/// A storage key from the app's bytes, which are wiped here once the key
/// holds them.
fn storage_key(mut bytes: Vec<u8>, key_id: u32) -> Result<StorageKey> {
    let secret: Result<Zeroizing<[u8; 32]>> =
        types::array(&bytes, "a storage key").map(Zeroizing::new);
    zeroize::Zeroize::zeroize(&mut bytes);
    let secret = secret?;
    Ok(StorageKey::new(key_id, &secret))
}

/// The keyring for the app's storage key (and any previous ones).
fn keyring(
    current: Vec<u8>,
    key_id: u32,
    previous: Vec<PreviousStorageKey>,
) -> Result<StorageKeyring> {
    let mut keyring = StorageKeyring::new(storage_key(current, key_id)?);
    for p in previous {
        keyring = keyring.with_previous(storage_key(p.storage_key, p.key_id)?)?;
    }
    Ok(keyring)
}

/// A keyring under a fresh random key, for an in-memory store (nothing
/// outlives the process, so the app need not keep the key).
fn memory_keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::generate(&mut OsRng, 1))
}

#[uniffi::export]
impl Account {
    /// A new account in a new SQLite file at `path`, sealed under the
    /// 32-byte `storage_key` (keep it in the platform keystore) with id
    /// `key_id`: a device key, a user key and device list v1 naming this
    /// device. Publish `device_list()` and `refresh_prekeys(..)`.
    ///
    /// `config` and `policy` (both optional) set the account's settings
    /// and the app's trust policy; the settings are not stored, so pass
    /// the same ones to `open`.
    #[uniffi::constructor(default(config = None, policy = None))]
    pub fn create(
        path: String,
        storage_key: Vec<u8>,
        key_id: u32,
        address: DeviceAddress,
        now: u64,
        config: Option<AccountConfig>,
        policy: Option<Arc<dyn TrustPolicy>>,
    ) -> Result<Arc<Self>> {
        let keyring = keyring(storage_key, key_id, Vec::new())?;
        let store = SqliteStore::open(&path)?;
        let account = kc::Account::create(store, keyring, &mut OsRng, &address.to_core()?, now)?;
        Ok(Arc::new(Account {
            inner: Inner::Sqlite(configure(account, config, policy)?),
        }))
    }

    /// The account in the SQLite file at `path`, after a restart, with
    /// its settings and the app's trust policy (both optional).
    /// `previous_keys`: the storage keys it was sealed under before this
    /// one, until `reseal_all` ran.
    #[uniffi::constructor(default(previous_keys = [], config = None, policy = None))]
    pub fn open(
        path: String,
        storage_key: Vec<u8>,
        key_id: u32,
        previous_keys: Vec<PreviousStorageKey>,
        config: Option<AccountConfig>,
        policy: Option<Arc<dyn TrustPolicy>>,
    ) -> Result<Arc<Self>> {
        let keyring = keyring(storage_key, key_id, previous_keys)?;
        let account = kc::Account::open(SqliteStore::open(&path)?, keyring)?;
        Ok(Arc::new(Account {
            inner: Inner::Sqlite(configure(account, config, policy)?),
        }))
    }

    /// A new account in memory (for tests: it is gone with the object).
    #[uniffi::constructor(default(config = None, policy = None))]
    pub fn create_in_memory(
        address: DeviceAddress,
        now: u64,
        config: Option<AccountConfig>,
        policy: Option<Arc<dyn TrustPolicy>>,
    ) -> Result<Arc<Self>> {
        let account = kc::Account::create(
            MemoryStore::new(),
            memory_keyring(),
            &mut OsRng,
            &address.to_core()?,
            now,
        )?;
        Ok(Arc::new(Account {
            inner: Inner::Memory(configure(account, config, policy)?),
        }))
    }

    /// A linked device's account, in a new SQLite file, from what its
    /// `LinkRequest` opened. `provisioned` is used up.
    #[uniffi::constructor(default(config = None, policy = None))]
    pub fn create_linked(
        path: String,
        storage_key: Vec<u8>,
        key_id: u32,
        provisioned: Arc<Provisioned>,
        now: u64,
        config: Option<AccountConfig>,
        policy: Option<Arc<dyn TrustPolicy>>,
    ) -> Result<Arc<Self>> {
        let keyring = keyring(storage_key, key_id, Vec::new())?;
        let provisioned = provisioned.take()?;
        let store = SqliteStore::open(&path)?;
        let account = kc::Account::create_linked(store, keyring, &mut OsRng, provisioned, now)?;
        Ok(Arc::new(Account {
            inner: Inner::Sqlite(configure(account, config, policy)?),
        }))
    }

    /// A linked device's account in memory (for tests).
    #[uniffi::constructor(default(config = None, policy = None))]
    pub fn create_linked_in_memory(
        provisioned: Arc<Provisioned>,
        now: u64,
        config: Option<AccountConfig>,
        policy: Option<Arc<dyn TrustPolicy>>,
    ) -> Result<Arc<Self>> {
        let provisioned = provisioned.take()?;
        let account = kc::Account::create_linked(
            MemoryStore::new(),
            memory_keyring(),
            &mut OsRng,
            provisioned,
            now,
        )?;
        Ok(Arc::new(Account {
            inner: Inner::Memory(configure(account, config, policy)?),
        }))
    }

    // --- who this is -----------------------------------------------------

    /// This device's address.
    pub fn address(&self) -> DeviceAddress {
        with!(self, a => a.address().into())
    }

    /// This device's public identity key (32 bytes).
    pub fn identity_key(&self) -> Vec<u8> {
        with!(self, a => a.identity_key().to_bytes().to_vec())
    }

    /// This person's public user identity key (32 bytes).
    pub fn user_identity_key(&self) -> Vec<u8> {
        with!(self, a => a.user_identity_key().to_bytes().to_vec())
    }

    /// Seals every record not sealed under the current storage key again
    /// under it (after `open` with a new key and the old one in
    /// `previous_keys`), in one transaction: how many were resealed. The
    /// previous keys are not needed after it.
    pub fn reseal_all(&self) -> Result<u64> {
        with!(self, a => Ok(a.reseal_all(&mut OsRng)? as u64))
    }

    // --- prekeys and device lists ---------------------------------------

    /// Tops up prekeys (and rotates the signed prekey when due) and
    /// returns the signed upload for the directory, or `None` when there
    /// is nothing to upload. `published`: what the directory says it
    /// holds, if known.
    pub fn refresh_prekeys(
        &self,
        now: u64,
        published: Option<PreKeyCounts>,
    ) -> Result<Option<Vec<u8>>> {
        let published = published.map(PreKeyCounts::to_core);
        with!(self, a => {
            let update = a.refresh_prekeys(&mut OsRng, now, published)?;
            if update.is_empty() {
                Ok(None)
            } else {
                Ok(Some(a.upload_bytes(&update)?))
            }
        })
    }

    /// This person's latest signed device list: publish `bytes`.
    pub fn device_list(&self) -> Result<DeviceList> {
        with!(self, a => Ok(DeviceList::from(&a.device_list()?)))
    }

    /// Removes one of this person's devices from the list (a lost phone, a
    /// reinstall): publish the list it returns.
    pub fn remove_device(&self, device_id: u32, now: u64) -> Result<DeviceList> {
        with!(self, a => Ok(DeviceList::from(&a.remove_device(&mut OsRng, device_id, now)?)))
    }

    /// Adds a device of this person to the list, as `device_id`, with the
    /// identity key it showed (32 bytes); linking (`link_device`) does this
    /// itself. Publish the list it returns.
    pub fn add_device(
        &self,
        device_id: u32,
        identity_key: Vec<u8>,
        now: u64,
    ) -> Result<DeviceList> {
        let key = types::identity_key(&identity_key)?;
        with!(self, a => Ok(DeviceList::from(&a.add_device(&mut OsRng, device_id, &key, now)?)))
    }

    /// Takes device lists from the directory: the latest list of a user
    /// met for the first time, or the lists after the one on record,
    /// oldest first (each must follow the one before).
    pub fn update_device_lists(&self, lists: Vec<Vec<u8>>, now: u64) -> Result<DeviceListChange> {
        with!(self, a => Ok(DeviceListChange::from(&a.update_device_lists(&mut OsRng, &lists, now)?)))
    }

    /// As `update_device_lists`, with the key-transparency proof the app
    /// fetched with the lists, for the app's trust policy to check
    /// (`TrustPolicy.trust_user`).
    pub fn update_device_lists_with_proof(
        &self,
        lists: Vec<Vec<u8>>,
        proof: Option<Vec<u8>>,
        now: u64,
    ) -> Result<DeviceListChange> {
        with!(self, a => Ok(DeviceListChange::from(
            &a.update_device_lists_with_proof(&mut OsRng, &lists, proof.as_deref(), now)?,
        )))
    }

    /// Brings `user`'s device list on record up to date through
    /// `fetcher`; `None` when nothing is newer.
    pub fn refresh_device_lists(
        &self,
        user: UserAddress,
        fetcher: Box<dyn DeviceListFetcher>,
        now: u64,
    ) -> Result<Option<DeviceListChange>> {
        let user = user.to_core()?;
        let mut source = |u: &kc::UserAddress, held: Option<u64>| {
            fetcher
                .fetch_device_lists(u.into(), held)
                .map_err(CallbackFailed::into_kinseal)
        };
        with!(self, a => Ok(a
            .refresh_device_lists(&mut OsRng, &user, &mut source, now)?
            .as_ref()
            .map(DeviceListChange::from)))
    }

    /// Accepts a user's new user key (after a `Trust(UserKeyChanged)`)
    /// with the list it signed.
    pub fn accept_user_identity(&self, list: Vec<u8>, now: u64) -> Result<DeviceListChange> {
        with!(self, a => Ok(DeviceListChange::from(&a.accept_user_identity(&mut OsRng, &list, now)?)))
    }

    /// Marks `user`'s user key `key` as verified (the safety number
    /// matched).
    pub fn mark_user_verified(&self, user: UserAddress, key: Vec<u8>) -> Result<()> {
        let (user, key) = (user.to_core()?, types::user_key(&key)?);
        with!(self, a => Ok(a.mark_user_verified(&mut OsRng, &user, &key)?))
    }

    /// `user`'s key and list on record, if any.
    pub fn peer_user(&self, user: UserAddress) -> Result<Option<KnownUser>> {
        let user = user.to_core()?;
        with!(self, a => Ok(a.peer_user(&user)?.as_ref().map(KnownUser::from)))
    }

    // --- sessions ---------------------------------------------------------

    /// Starts a session with `peer` from the bundle bytes the directory
    /// gave out for it (decoded and verified here).
    pub fn start_session(
        &self,
        peer: DeviceAddress,
        bundle: Vec<u8>,
        now: u64,
    ) -> Result<IdentityStatus> {
        let peer = peer.to_core()?;
        let bundle = kinseal::PreKeyBundle::from_bytes(&bundle)?.verify()?;
        with!(self, a => Ok(IdentityStatus::from(&a.start_session(&mut OsRng, &peer, &bundle, now)?)))
    }

    /// Starts sessions with every listed device of `user` (and this
    /// person's other devices) that has none, fetching bundles through
    /// `fetcher`.
    pub fn sync_sessions(
        &self,
        user: UserAddress,
        fetcher: Box<dyn BundleFetcher>,
        now: u64,
    ) -> Result<SyncReport> {
        let user = user.to_core()?;
        let mut source = |d: &kc::DeviceAddress| {
            let bytes = fetcher
                .fetch_bundle(d.into())
                .map_err(CallbackFailed::into_kinseal)?;
            kinseal::PreKeyBundle::from_bytes(&bytes)?.verify()
        };
        with!(self, a => Ok(SyncReport::from(&a.sync_sessions(&mut OsRng, &user, &mut source, now)?)))
    }

    /// Whether a session with `peer` is on record.
    pub fn has_session(&self, peer: DeviceAddress) -> Result<bool> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(a.has_session(&peer)?))
    }

    /// The devices of `user` this account has sessions with.
    pub fn devices_with_sessions(&self, user: UserAddress) -> Result<Vec<DeviceAddress>> {
        let user = user.to_core()?;
        with!(self, a => Ok(types::devices_out(&a.devices_with_sessions(&user)?)))
    }

    /// Closes the session with `peer`, so that the next message starts a
    /// new one; whether there was one.
    pub fn reset_session(&self, peer: DeviceAddress, now: u64) -> Result<bool> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(a.reset_session(&mut OsRng, &peer, now)?))
    }

    /// Deletes every session with `peer` (a device removed from its
    /// user's list); whether there was one.
    pub fn forget_device(&self, peer: DeviceAddress) -> Result<bool> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(a.forget_device(&peer)?))
    }

    /// Drops archived sessions idle longer than the configured time,
    /// across every peer device, in one transaction (call it now and
    /// then): how many devices' records changed.
    pub fn expire_sessions(&self, now: u64) -> Result<u64> {
        with!(self, a => Ok(a.expire_sessions(&mut OsRng, now)? as u64))
    }

    /// The id (32 bytes) of the session messages to `peer` use, if any.
    pub fn current_session_id(&self, peer: DeviceAddress) -> Result<Option<Vec<u8>>> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(a.current_session_id(&peer)?.map(|id| id.as_bytes().to_vec())))
    }

    // --- messages ---------------------------------------------------------

    /// Encrypts `plaintext` to `peer`: the message bytes.
    pub fn encrypt(&self, peer: DeviceAddress, plaintext: Vec<u8>, now: u64) -> Result<Vec<u8>> {
        self.encrypt_to(&peer.to_core()?, &plaintext, now)
    }

    /// Decrypts message bytes that came from `peer`.
    pub fn decrypt(&self, peer: DeviceAddress, message: Vec<u8>, now: u64) -> Result<Decrypted> {
        self.decrypt_from(&peer.to_core()?, &message, now)
    }

    /// Decrypts message bytes from `peer` and hands the result to
    /// `delivery` inside the same transaction: if it raises, nothing is
    /// stored and its error comes back as `Callback`.
    pub fn decrypt_with(
        &self,
        peer: DeviceAddress,
        message: Vec<u8>,
        now: u64,
        delivery: Box<dyn Delivery>,
    ) -> Result<Decrypted> {
        self.decrypt_from_with(&peer.to_core()?, &message, now, delivery)
    }

    /// Encrypts `plaintext` to `peer`, in an envelope that names both
    /// devices.
    pub fn encrypt_envelope(
        &self,
        peer: DeviceAddress,
        plaintext: Vec<u8>,
        now: u64,
    ) -> Result<Envelope> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(Envelope::from(&a.encrypt_envelope(&mut OsRng, &peer, &plaintext, now)?)))
    }

    /// Decrypts an envelope's bytes (from `Envelope.bytes`).
    pub fn decrypt_envelope(&self, envelope: Vec<u8>, now: u64) -> Result<Decrypted> {
        let envelope = kinseal::Envelope::from_bytes(&envelope)?;
        with!(self, a => Ok(Decrypted::new(
            envelope.sender(),
            &a.decrypt_envelope(&mut OsRng, &envelope, now)?,
        )))
    }

    /// Decrypts an envelope's bytes; if that fails, also makes the signed
    /// decryption-error receipt the error calls for (PROTOCOL.md §14), for
    /// the app to send back to the envelope's sender.
    pub fn decrypt_envelope_or_receipt(
        &self,
        envelope: Vec<u8>,
        now: u64,
    ) -> Result<DecryptOutcome> {
        let envelope = kinseal::Envelope::from_bytes(&envelope)?;
        with!(self, a => match a.decrypt_envelope(&mut OsRng, &envelope, now) {
            Ok(d) => Ok(DecryptOutcome::Decrypted {
                message: Decrypted::new(envelope.sender(), &d),
            }),
            Err(error) => {
                let receipt = a.decryption_error_receipt(&envelope, &error, now)?;
                Ok(DecryptOutcome::Failed {
                    error: error.into(),
                    receipt: receipt.map(|r| r.to_bytes()),
                })
            }
        })
    }

    /// Handles a decryption-error receipt from a peer's device.
    pub fn handle_receipt(&self, receipt: Vec<u8>, now: u64) -> Result<ReceiptOutcome> {
        with!(self, a => Ok(match a.handle_receipt(&mut OsRng, &receipt, now)? {
            kc::ReceiptOutcome::SessionClosed { device, failed } => ReceiptOutcome {
                device: (&device).into(),
                session_closed: true,
                failed: (&failed).into(),
            },
            kc::ReceiptOutcome::AlreadyReplaced { device, failed } => ReceiptOutcome {
                device: (&device).into(),
                session_closed: false,
                failed: (&failed).into(),
            },
            _ => return Err(KinsealError::Other {
                detail: "a receipt outcome this version does not know".into(),
            }),
        }))
    }

    /// Encrypts `plaintext` to every listed device of `user` and this
    /// person's other devices, in one transaction.
    pub fn encrypt_to_user(
        &self,
        user: UserAddress,
        plaintext: Vec<u8>,
        now: u64,
    ) -> Result<FanOut> {
        let user = user.to_core()?;
        with!(self, a => Ok(FanOut::from(&a.encrypt_to_user(&mut OsRng, &user, &plaintext, now)?)))
    }

    /// Encrypts `plaintext` to every listed device of each of `users` and
    /// this person's other devices, in one transaction.
    pub fn encrypt_to_users(
        &self,
        users: Vec<UserAddress>,
        plaintext: Vec<u8>,
        now: u64,
    ) -> Result<FanOut> {
        let users = types::users(&users)?;
        with!(self, a => Ok(FanOut::from(&a.encrypt_to_users(&mut OsRng, &users, &plaintext, now)?)))
    }

    /// Encrypts `plaintext` to each of `peers` (which need sessions), in
    /// one transaction (one commit for all of them): a message for each,
    /// in the order of `peers`. If one fails, nothing changed.
    pub fn encrypt_to_each(
        &self,
        peers: Vec<DeviceAddress>,
        plaintext: Vec<u8>,
        now: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let peers = peers
            .iter()
            .map(DeviceAddress::to_core)
            .collect::<Result<Vec<_>>>()?;
        with!(self, a => Ok(a.encrypt_to_each(&mut OsRng, &peers, &plaintext, now)?))
    }

    // --- linking ----------------------------------------------------------

    /// Adds a new device of this person, as `device_id`, from the code its
    /// `LinkRequest` showed (scanned bytes).
    pub fn link_device(&self, code: Vec<u8>, device_id: u32, now: u64) -> Result<LinkedDevice> {
        let code = kinseal::LinkCode::from_bytes(&code)?;
        with!(self, a => {
            let linked = a.link_device(&mut OsRng, &code, device_id, now)?;
            Ok(LinkedDevice {
                device_list: linked.device_list().into(),
                provisioning_message: linked.provisioning_message().to_vec(),
            })
        })
    }

    // --- trust ------------------------------------------------------------

    /// `peer`'s identity key on record, if any.
    pub fn peer_identity(&self, peer: DeviceAddress) -> Result<Option<KnownIdentity>> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(a.peer_identity(&peer)?.as_ref().map(KnownIdentity::from)))
    }

    /// Accepts `key` as `peer`'s identity key (after a
    /// `Trust(IdentityChanged)`): sessions with the old one are closed.
    pub fn accept_identity(&self, peer: DeviceAddress, key: Vec<u8>, now: u64) -> Result<()> {
        let (peer, key) = (peer.to_core()?, types::identity_key(&key)?);
        with!(self, a => Ok(a.accept_identity(&mut OsRng, &peer, &key, now)?))
    }

    /// Marks `key` as `peer`'s verified identity key.
    pub fn mark_verified(&self, peer: DeviceAddress, key: Vec<u8>) -> Result<()> {
        let (peer, key) = (peer.to_core()?, types::identity_key(&key)?);
        with!(self, a => Ok(a.mark_verified(&mut OsRng, &peer, &key)?))
    }

    /// The safety number of this device and `peer`, once `peer`'s key is
    /// on record.
    pub fn safety_number(&self, peer: DeviceAddress) -> Result<Option<Arc<SafetyNumber>>> {
        let peer = peer.to_core()?;
        with!(self, a => Ok(a.safety_number(&peer)?.map(SafetyNumber::wrap)))
    }

    /// The safety number of this person and `user` (the same on all their
    /// devices), once `user`'s key is on record.
    pub fn user_safety_number(&self, user: UserAddress) -> Result<Option<Arc<SafetyNumber>>> {
        let user = user.to_core()?;
        with!(self, a => Ok(a.user_safety_number(&user)?.map(SafetyNumber::wrap)))
    }
}

/// A `LinkRequest` or `Provisioned` is used once; this is its slot.
pub(crate) type Once<T> = Mutex<Option<T>>;

/// Takes the value out of a use-once slot.
pub(crate) fn take_once<T>(slot: &Once<T>, what: &str) -> Result<T> {
    let mut guard = slot
        .lock()
        .map_err(|_| KinsealError::invalid(format!("{what} is poisoned")))?;
    guard
        .take()
        .ok_or_else(|| KinsealError::invalid(format!("{what} was already used")))
}
