//! The `Account` class: one device of one person, over kinseal's
//! in-memory store with a journal of its sealed records. Every method is
//! one call of `kinseal::client::Account`; this file only converts
//! arguments and results.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use kinseal::client::{self as kc, MemoryStore, StorageKey};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use zeroize::Zeroizing;

use crate::error::{Failure, Result};
use crate::js::{self, seconds};
use crate::policy::{Options, Policy};
use crate::rng::Rng;
use crate::values::{self, SafetyNumber};

/// The length of a storage key, in bytes.
pub const STORAGE_KEY_LEN: usize = 32;

/// One device of one person: its keys, sessions, device lists, trust
/// records and groups, in a store sealed under the app's storage key.
///
/// The store lives inside the module; after every call that changes it,
/// [`take_changes`](Account::take_changes) gives the sealed records to
/// write to IndexedDB (see docs/DESIGN.md, "Storage in the browser").
#[wasm_bindgen]
pub struct Account {
    pub(crate) shared: Rc<Shared>,
}

/// What an `Account` and its `Peer`s share: the account, its store, and
/// whether a call is running.
pub(crate) struct Shared {
    inner: kc::Account<Arc<MemoryStore>, Policy>,
    store: Arc<MemoryStore>,
    busy: Cell<bool>,
}

/// The account, entered by one call: while it is held, a call into the
/// same account from one of the app's callbacks (a trust policy, a
/// delivery, `fetchBundle`) is refused instead of finding the store in
/// the middle of a transaction.
pub(crate) struct Entered<'a> {
    shared: &'a Shared,
}

impl core::ops::Deref for Entered<'_> {
    type Target = kc::Account<Arc<MemoryStore>, Policy>;
    fn deref(&self) -> &Self::Target {
        &self.shared.inner
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.shared.busy.set(false);
    }
}

impl Shared {
    /// The account for one call, or a `Misuse` error (kind `Reentrant`)
    /// when a call into it is already running.
    pub(crate) fn enter(&self) -> Result<Entered<'_>> {
        if self.busy.replace(true) {
            return Err(Failure {
                name: "Misuse",
                kind: "Reentrant".into(),
                detail: "a callback called into the account whose call is running".into(),
            });
        }
        Ok(Entered { shared: self })
    }
}

/// A storage key from the app's bytes; the copy made here is wiped once
/// the key holds it.
pub(crate) fn storage_key(bytes: &[u8], key_id: u32) -> Result<StorageKey> {
    let secret: Zeroizing<[u8; STORAGE_KEY_LEN]> =
        Zeroizing::new(bytes.try_into().map_err(|_| {
            Failure::invalid(format!(
                "a storage key must be {STORAGE_KEY_LEN} bytes, not {}",
                bytes.len()
            ))
        })?);
    Ok(StorageKey::new(key_id, &secret))
}

/// The app's fetch function (named here) threw or returned something
/// other than bytes.
#[derive(Debug)]
struct FetchFailed(&'static str);

impl core::fmt::Display for FetchFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} threw or did not return bytes", self.0)
    }
}

impl std::error::Error for FetchFailed {}

impl Account {
    pub(crate) fn wrap(
        inner: kc::Account<Arc<MemoryStore>>,
        store: Arc<MemoryStore>,
        options: Options,
    ) -> Self {
        let inner = match options.config {
            Some(c) => inner.with_config(c),
            None => inner,
        };
        Account {
            shared: Rc::new(Shared {
                inner: inner.with_trust_policy(options.policy),
                store,
                busy: Cell::new(false),
            }),
        }
    }

    /// The account for one call (see [`Shared::enter`]).
    pub(crate) fn a(&self) -> Result<Entered<'_>> {
        self.shared.enter()
    }
}

#[wasm_bindgen]
impl Account {
    /// A new account: a device key, a user key and device list v1 naming
    /// this device, sealed under the 32-byte `storageKey` with id `keyId`.
    /// Publish `deviceList()` and `refreshPrekeys(..)`; write
    /// `takeChanges()` to IndexedDB. `options.trustPolicy`: the app's
    /// trust policy (not stored: pass it again to `openFromRecords`).
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] address: JsValue,
        #[wasm_bindgen(js_name = storageKey)] storage_key: &[u8],
        #[wasm_bindgen(js_name = keyId)] key_id: u32,
        now: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "AccountOptions")] options: JsValue,
    ) -> Result<Account> {
        let (address, now) = (js::device(&address)?, seconds(now)?);
        let options = Options::from_js(&options, false)?;
        let keyring = options.keyring(storage_key, key_id)?;
        let store = Arc::new(MemoryStore::journaled());
        let inner = kc::Account::create(store.clone(), keyring, &mut Rng, &address, now)?;
        Ok(Account::wrap(inner, store, options))
    }

    /// The account from its sealed records (every `StoredRecord` the app
    /// kept from `takeChanges()` or `exportRecords()`), after a reload.
    /// `options.trustPolicy`: the app's trust policy;
    /// `options.previousKeys`: the storage keys records may still be
    /// sealed under (`{ keyId, storageKey }`), until `resealAll()` ran.
    #[wasm_bindgen(js_name = openFromRecords)]
    pub fn open_from_records(
        #[wasm_bindgen(unchecked_param_type = "StoredRecord[]")] records: JsValue,
        #[wasm_bindgen(js_name = storageKey)] storage_key: &[u8],
        #[wasm_bindgen(js_name = keyId)] key_id: u32,
        #[wasm_bindgen(unchecked_optional_param_type = "OpenOptions")] options: JsValue,
    ) -> Result<Account> {
        let records = js::each(&records, "records", |r| {
            Ok((
                js::bytes_field(r, "key", "a record")?,
                js::bytes_field(r, "value", "a record")?,
            ))
        })?;
        let options = Options::from_js(&options, true)?;
        let keyring = options.keyring(storage_key, key_id)?;
        let store = Arc::new(MemoryStore::from_records(records)?);
        let inner = kc::Account::open(store.clone(), keyring)?;
        Ok(Account::wrap(inner, store, options))
    }

    /// The sealed records the calls since the last `takeChanges()`
    /// changed: write them all to IndexedDB in one transaction (delete
    /// the keys whose `value` is undefined) before acting on those calls'
    /// results.
    #[wasm_bindgen(js_name = takeChanges, unchecked_return_type = "StoredRecord[]")]
    pub fn take_changes(&self) -> Result<JsValue> {
        let a = self.a()?;
        Ok(js::array(a.shared.store.take_changes(), |c| {
            values::record(&c.key, c.value.as_deref())
        }))
    }

    /// Every sealed record of the account (a full copy for IndexedDB).
    #[wasm_bindgen(js_name = exportRecords, unchecked_return_type = "StoredRecord[]")]
    pub fn export_records(&self) -> Result<JsValue> {
        let a = self.a()?;
        Ok(js::array(a.shared.store.export_records(), |(k, v)| {
            values::record(&k, Some(&v))
        }))
    }

    /// Seals every record not sealed under the current storage key again
    /// under it (after `openFromRecords` with a new key and the old ones
    /// in `options.previousKeys`), in one transaction: how many were
    /// resealed. Write `takeChanges()`; the previous keys are not needed
    /// after that.
    #[wasm_bindgen(js_name = resealAll)]
    pub fn reseal_all(&self) -> Result<u32> {
        let n = self.a()?.reseal_all(&mut Rng)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // --- who this is -----------------------------------------------------

    /// This device's address.
    #[wasm_bindgen(unchecked_return_type = "DeviceAddress")]
    pub fn address(&self) -> JsValue {
        js::device_out(self.shared.inner.address())
    }

    /// This device's public identity key (32 bytes).
    #[wasm_bindgen(js_name = identityKey)]
    pub fn identity_key(&self) -> Vec<u8> {
        self.shared.inner.identity_key().to_bytes().to_vec()
    }

    /// This person's public user identity key (32 bytes).
    #[wasm_bindgen(js_name = userIdentityKey)]
    pub fn user_identity_key(&self) -> Vec<u8> {
        self.shared.inner.user_identity_key().to_bytes().to_vec()
    }

    // --- prekeys and device lists ---------------------------------------

    /// Tops up prekeys (and rotates the signed prekey when due): the
    /// signed upload for the directory, or undefined when there is
    /// nothing to upload. `published`: what the directory says it holds,
    /// if known.
    #[wasm_bindgen(js_name = refreshPrekeys)]
    pub fn refresh_prekeys(
        &self,
        now: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "PreKeyCounts")] published: JsValue,
    ) -> Result<Option<Vec<u8>>> {
        let now = seconds(now)?;
        let published = if published.is_undefined() || published.is_null() {
            None
        } else {
            Some(js::counts(&published)?)
        };
        let update = self.a()?.refresh_prekeys(&mut Rng, now, published)?;
        if update.is_empty() {
            Ok(None)
        } else {
            Ok(Some(self.a()?.upload_bytes(&update)?))
        }
    }

    /// This person's latest signed device list: publish `bytes`.
    #[wasm_bindgen(js_name = deviceList, unchecked_return_type = "DeviceList")]
    pub fn device_list(&self) -> Result<JsValue> {
        Ok(values::device_list(&self.a()?.device_list()?))
    }

    /// Takes device lists from the directory: the latest list of a user
    /// met for the first time, or the lists after the one on record,
    /// oldest first.
    #[wasm_bindgen(js_name = updateDeviceLists, unchecked_return_type = "DeviceListChange")]
    pub fn update_device_lists(&self, lists: Vec<js_sys::Uint8Array>, now: f64) -> Result<JsValue> {
        let now = seconds(now)?;
        let lists: Vec<Vec<u8>> = lists.iter().map(js_sys::Uint8Array::to_vec).collect();
        let change = self.a()?.update_device_lists(&mut Rng, &lists, now)?;
        Ok(values::device_list_change(&change))
    }

    /// As `updateDeviceLists`, with the key-transparency proof the app
    /// fetched with the lists, for its trust policy's `trustUser` to check.
    #[wasm_bindgen(
        js_name = updateDeviceListsWithProof,
        unchecked_return_type = "DeviceListChange"
    )]
    pub fn update_device_lists_with_proof(
        &self,
        lists: Vec<js_sys::Uint8Array>,
        proof: Option<Vec<u8>>,
        now: f64,
    ) -> Result<JsValue> {
        let now = seconds(now)?;
        let lists: Vec<Vec<u8>> = lists.iter().map(js_sys::Uint8Array::to_vec).collect();
        let change =
            self.a()?
                .update_device_lists_with_proof(&mut Rng, &lists, proof.as_deref(), now)?;
        Ok(values::device_list_change(&change))
    }

    /// Brings `user`'s device list on record up to date through
    /// `fetchLists(user, held)`, which returns the latest list of `user`
    /// when `held` is undefined (first contact), else the lists after
    /// version `held`, oldest first: what changed, or undefined when
    /// nothing is newer. If `fetchLists` throws or returns something
    /// other than an array of `Uint8Array`s, nothing is stored and a
    /// `Callback` error is thrown (with its exception as `cause`).
    #[wasm_bindgen(
        js_name = refreshDeviceLists,
        unchecked_return_type = "DeviceListChange | undefined"
    )]
    pub fn refresh_device_lists(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        #[wasm_bindgen(
            js_name = fetchLists,
            unchecked_param_type = "(user: UserAddress, held: number | undefined) => Uint8Array[]"
        )]
        fetch_lists: &js_sys::Function,
        now: f64,
    ) -> core::result::Result<JsValue, JsValue> {
        let (user, now) = (js::user(&user)?, seconds(now)?);
        // What the app's function threw, to throw again as `cause`.
        let thrown = Cell::new(None::<JsValue>);
        let mut source = |u: &kc::UserAddress, held: Option<u64>| {
            let held = held.map_or(JsValue::UNDEFINED, js::number);
            let fetched = fetch_lists
                .call2(&JsValue::NULL, &js::user_out(u), &held)
                .and_then(|v| {
                    js::each(&v, "the fetched device lists", |l| {
                        js::byte_vec(l, "a fetched device list")
                    })
                    .map_err(JsValue::from)
                });
            fetched.map_err(|cause| {
                thrown.set(Some(cause));
                kinseal::Error::Storage(kinseal::StorageError::Other(kinseal::OtherError::new(
                    FetchFailed("fetchLists"),
                )))
            })
        };
        let refreshed = self
            .a()?
            .refresh_device_lists(&mut Rng, &user, &mut source, now);
        if let Some(cause) = thrown.take() {
            return Err(crate::error::callback(cause));
        }
        Ok(refreshed
            .map_err(Failure::from)?
            .as_ref()
            .map_or(JsValue::UNDEFINED, values::device_list_change))
    }

    /// Adds a device of this person to the list, as `deviceId`, with the
    /// identity key it showed (32 bytes; `linkDevice` does this itself):
    /// publish the list it returns.
    #[wasm_bindgen(js_name = addDevice, unchecked_return_type = "DeviceList")]
    pub fn add_device(
        &self,
        #[wasm_bindgen(js_name = deviceId)] device_id: u32,
        #[wasm_bindgen(js_name = identityKey)] identity_key: &[u8],
        now: f64,
    ) -> Result<JsValue> {
        let now = seconds(now)?;
        let key =
            kinseal::IdentityKey::from_bytes(&js::key_array(identity_key, "an identity key")?)?;
        let list = self.a()?.add_device(&mut Rng, device_id, &key, now)?;
        Ok(values::device_list(&list))
    }

    // --- sessions ---------------------------------------------------------

    /// Starts a session with `peer` from the bundle bytes the directory
    /// gave out for it (decoded and verified here): how `peer`'s identity
    /// key relates to the one on record.
    #[wasm_bindgen(js_name = startSession, unchecked_return_type = "IdentityStatus")]
    pub fn start_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        bundle: &[u8],
        now: f64,
    ) -> Result<JsValue> {
        let (peer, now) = (js::device(&peer)?, seconds(now)?);
        let bundle = kinseal::PreKeyBundle::from_bytes(bundle)?.verify()?;
        let status = self.a()?.start_session(&mut Rng, &peer, &bundle, now)?;
        Ok(values::identity(&status))
    }

    /// Starts sessions with every listed device of `user` (and this
    /// person's other devices) that has none, taking each bundle from
    /// `fetchBundle(device)`, a function that returns the bundle bytes
    /// (or throws: that device only fails, with a `Storage` error): the
    /// devices with a new session, and those that failed and why.
    #[wasm_bindgen(js_name = syncSessions, unchecked_return_type = "SyncReport")]
    pub fn sync_sessions(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        #[wasm_bindgen(
            js_name = fetchBundle,
            unchecked_param_type = "(device: DeviceAddress) => Uint8Array"
        )]
        fetch_bundle: &js_sys::Function,
        now: f64,
    ) -> Result<JsValue> {
        let (user, now) = (js::user(&user)?, seconds(now)?);
        let mut source = |d: &kc::DeviceAddress| {
            let fetched = fetch_bundle
                .call1(&JsValue::NULL, &js::device_out(d))
                .ok()
                .and_then(|v| js::byte_vec(&v, "a fetched bundle").ok());
            match fetched {
                Some(bytes) => kinseal::PreKeyBundle::from_bytes(&bytes)?.verify(),
                None => Err(kinseal::Error::Storage(kinseal::StorageError::Other(
                    kinseal::OtherError::new(FetchFailed("fetchBundle")),
                ))),
            }
        };
        let report = self.a()?.sync_sessions(&mut Rng, &user, &mut source, now)?;
        Ok(values::sync_report(&report))
    }

    /// Whether a session with `peer` is on record.
    #[wasm_bindgen(js_name = hasSession)]
    pub fn has_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
    ) -> Result<bool> {
        Ok(self.a()?.has_session(&js::device(&peer)?)?)
    }

    /// The id (32 bytes) of the session messages to `peer` use, or
    /// undefined when there is none.
    #[wasm_bindgen(js_name = currentSessionId)]
    pub fn current_session_id(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
    ) -> Result<Option<Vec<u8>>> {
        let peer = js::device(&peer)?;
        let id = self.a()?.current_session_id(&peer)?;
        Ok(id.map(|id| id.as_bytes().to_vec()))
    }

    /// Drops archived sessions idle longer than the configured time
    /// (`config.archivedSessionTtl`), across every peer device, in one
    /// transaction (call it now and then): how many devices' records
    /// changed.
    #[wasm_bindgen(js_name = expireSessions)]
    pub fn expire_sessions(&self, now: f64) -> Result<u32> {
        let n = self.a()?.expire_sessions(&mut Rng, seconds(now)?)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // --- messages ---------------------------------------------------------

    /// Encrypts `plaintext` to `peer`: the message bytes.
    pub fn encrypt(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        plaintext: &[u8],
        now: f64,
    ) -> Result<Vec<u8>> {
        let (peer, now) = (js::device(&peer)?, seconds(now)?);
        Ok(self.a()?.encrypt(&mut Rng, &peer, plaintext, now)?)
    }

    /// Decrypts message bytes that came from `peer`.
    #[wasm_bindgen(unchecked_return_type = "Decrypted")]
    pub fn decrypt(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        message: &[u8],
        now: f64,
    ) -> Result<JsValue> {
        let (peer, now) = (js::device(&peer)?, seconds(now)?);
        let d = self.a()?.decrypt(&mut Rng, &peer, message, now)?;
        Ok(values::decrypted(&peer, &d))
    }

    /// Encrypts `plaintext` to `peer`, in an envelope that names both
    /// devices.
    #[wasm_bindgen(js_name = encryptEnvelope, unchecked_return_type = "Envelope")]
    pub fn encrypt_envelope(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        plaintext: &[u8],
        now: f64,
    ) -> Result<JsValue> {
        let (peer, now) = (js::device(&peer)?, seconds(now)?);
        let e = self
            .a()?
            .encrypt_envelope(&mut Rng, &peer, plaintext, now)?;
        Ok(values::envelope(&e))
    }

    /// Decrypts an envelope's bytes (`Envelope.bytes`).
    #[wasm_bindgen(js_name = decryptEnvelope, unchecked_return_type = "Decrypted")]
    pub fn decrypt_envelope(&self, envelope: &[u8], now: f64) -> Result<JsValue> {
        let now = seconds(now)?;
        let envelope = kinseal::Envelope::from_bytes(envelope)?;
        let d = self.a()?.decrypt_envelope(&mut Rng, &envelope, now)?;
        Ok(values::decrypted(envelope.sender(), &d))
    }

    /// Encrypts `plaintext` to every listed device of `user` and this
    /// person's other devices, in one transaction.
    #[wasm_bindgen(js_name = encryptToUser, unchecked_return_type = "FanOut")]
    pub fn encrypt_to_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
        plaintext: &[u8],
        now: f64,
    ) -> Result<JsValue> {
        let (user, now) = (js::user(&user)?, seconds(now)?);
        let f = self.a()?.encrypt_to_user(&mut Rng, &user, plaintext, now)?;
        Ok(values::fan_out(&f))
    }

    /// Encrypts `plaintext` to every listed device of each of `users` and
    /// this person's other devices, in one transaction.
    #[wasm_bindgen(js_name = encryptToUsers, unchecked_return_type = "FanOut")]
    pub fn encrypt_to_users(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress[]")] users: JsValue,
        plaintext: &[u8],
        now: f64,
    ) -> Result<JsValue> {
        let (users, now) = (js::each(&users, "users", js::user)?, seconds(now)?);
        let f = self
            .a()?
            .encrypt_to_users(&mut Rng, &users, plaintext, now)?;
        Ok(values::fan_out(&f))
    }

    /// Encrypts `plaintext` to each of `peers` (which need sessions) in
    /// one transaction: a message for each, in the order of `peers`. If
    /// one fails, nothing changed.
    #[wasm_bindgen(js_name = encryptToEach)]
    pub fn encrypt_to_each(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress[]")] peers: JsValue,
        plaintext: &[u8],
        now: f64,
    ) -> Result<Vec<js_sys::Uint8Array>> {
        let (peers, now) = (js::each(&peers, "peers", js::device)?, seconds(now)?);
        let messages = self
            .a()?
            .encrypt_to_each(&mut Rng, &peers, plaintext, now)?;
        Ok(messages
            .iter()
            .map(|m| js_sys::Uint8Array::from(&m[..]))
            .collect())
    }

    // --- trust ------------------------------------------------------------

    /// Marks `key` (32 bytes) as `peer`'s verified identity key.
    #[wasm_bindgen(js_name = markVerified)]
    pub fn mark_verified(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
        key: &[u8],
    ) -> Result<()> {
        let peer = js::device(&peer)?;
        let key = kinseal::IdentityKey::from_bytes(&js::key_array(key, "an identity key")?)?;
        Ok(self.a()?.mark_verified(&mut Rng, &peer, &key)?)
    }

    /// The safety number of this device and `peer`, once `peer`'s key is
    /// on record.
    #[wasm_bindgen(js_name = safetyNumber)]
    pub fn safety_number(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DeviceAddress")] peer: JsValue,
    ) -> Result<Option<SafetyNumber>> {
        let peer = js::device(&peer)?;
        Ok(self.a()?.safety_number(&peer)?.map(SafetyNumber::wrap))
    }

    /// The safety number of this person and `user` (the same on all
    /// their devices), once `user`'s key is on record.
    #[wasm_bindgen(js_name = userSafetyNumber)]
    pub fn user_safety_number(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserAddress")] user: JsValue,
    ) -> Result<Option<SafetyNumber>> {
        let user = js::user(&user)?;
        Ok(self.a()?.user_safety_number(&user)?.map(SafetyNumber::wrap))
    }
}
