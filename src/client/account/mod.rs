//! The [`Account`]: one device's identity, prekeys, trust records and
//! sessions, kept in a [`ClientStore`] and sealed at rest.
//!
//! ```
//! use kinseal::OsRng;
//! use kinseal::client::{Account, DeviceAddress, MemoryStore, StorageKey, StorageKeyring};
//! use kinseal::server::{MemoryDirectory, PreKeyDirectory};
//!
//! let mut rng = OsRng;
//! let now = 1_700_000_000;
//! let keyring = || StorageKeyring::new(StorageKey::new(1, &[7; 32]));
//! let alice_at = DeviceAddress::new(b"chat.example", b"alice", 1)?;
//! let bob_at = DeviceAddress::new(b"mail.example", b"bob@example.org", 1)?;
//! let alice = Account::create(MemoryStore::new(), keyring(), &mut rng, &alice_at, now)?;
//! let bob = Account::create(MemoryStore::new(), keyring(), &mut rng, &bob_at, now)?;
//!
//! // Each learns the other's signed device list (from the directory, in
//! // an app): only the devices on it are ever talked to.
//! alice.update_device_lists(&mut rng, &[bob.device_list()?.to_bytes()], now)?;
//! bob.update_device_lists(&mut rng, &[alice.device_list()?.to_bytes()], now)?;
//!
//! // Bob registers and publishes prekeys.
//! let directory = MemoryDirectory::new();
//! directory.register(&bob_at, bob.identity_key())?;
//! let update = bob.refresh_prekeys(&mut rng, now, None)?;
//! directory.upload(&bob_at, &bob.upload_bytes(&update)?)?;
//!
//! // Alice starts sessions with every device of Bob's (one, here) and
//! // writes to all of them; Bob answers.
//! let mut fetch = |d: &DeviceAddress| directory.take_bundle(d)?.into_bundle().verify();
//! alice.sync_sessions(&mut rng, bob_at.user(), &mut fetch, now)?;
//! let sent = alice.encrypt_to_user(&mut rng, bob_at.user(), b"hi Bob", now)?;
//! let envelope = &sent.envelopes()[0];
//! assert_eq!(bob.decrypt_envelope(&mut rng, envelope, now)?.plaintext(), b"hi Bob");
//! let reply = bob.encrypt_envelope(&mut rng, &alice_at, b"hi Alice", now)?;
//! assert_eq!(alice.decrypt_envelope(&mut rng, &reply, now)?.plaintext(), b"hi Alice");
//! # Ok::<(), kinseal::Error>(())
//! ```

mod batch;
mod cache;
mod config;
mod fanout;
mod groups;
mod link;
mod messaging;
mod people;
mod prekeys;
mod recovery;
mod sessions;
mod trace;
mod user_records;
mod users;

use cache::lock_cache;

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub use batch::{BatchFailure, BatchOutcome};
pub use config::AccountConfig;
pub use fanout::{BundleSource, DeviceListSource, FanOut, SyncReport};
pub use groups::{GroupDecrypted, GroupEvent, GroupSend};
pub use link::LinkedDevice;
pub use messaging::Decrypted;
pub use prekeys::PreKeyUpdate;
pub use recovery::ReceiptOutcome;
pub use users::DeviceListChange;

use super::keyring::{RecordKey, StorageKeyring};
use super::store::{
    ClientStore, GroupStore, IdentityStore, KemPreKeyStore, LastResortKemPreKeyStore,
    OneTimePreKeyStore, SessionStore, SignedPreKeyStore, StoreTransaction, get_record, put_record,
};
use super::trust::{IdentityStatus, KnownIdentity, TrustDecision, TrustOnFirstUse, TrustPolicy};
use crate::address::DeviceAddress;
use crate::error::{AccountError, TrustError};
use crate::wire::{AccountFrame, Frame, PeerIdentityFrame};
use crate::{
    DeviceList, IdentityKey, IdentityKeyPair, StorageError, UserIdentityKey, UserIdentityKeyPair,
};
use sessions::{SessionCache, SessionSet};

/// One device's end of every conversation: its identity, prekeys, trust
/// records and sessions, in a [`ClientStore`], sealed under a
/// [`StorageKeyring`].
///
/// Every method is one store transaction: it commits everything it changed
/// or, on any error, nothing. Methods take `&self`; the store serializes
/// transactions, so one `Account` can be shared between threads, and
/// several `Account`s (threads or processes) can open the same store.
///
/// Times (`now`) are seconds since the Unix epoch, from the caller's clock.
pub struct Account<S: ClientStore, P: TrustPolicy = TrustOnFirstUse> {
    store: S,
    keyring: StorageKeyring,
    identity: IdentityKeyPair,
    user: UserIdentityKeyPair,
    address: DeviceAddress,
    config: AccountConfig,
    policy: P,
    cache: std::sync::Mutex<SessionCache>,
    users: std::sync::Mutex<user_records::UserCache>,
    groups: std::sync::Mutex<groups::GroupCache>,
}

impl<S: ClientStore> Account<S> {
    /// Creates a new account in an empty store, for the device at
    /// `address` (which this device's app server assigned): a fresh device
    /// identity key, a fresh user identity key, and the user's first
    /// device list, naming this device alone. Publish the list
    /// ([`Account::device_list`]) and prekeys
    /// ([`Account::refresh_prekeys`]) next.
    ///
    /// A second device of the same user is not created here: it is
    /// linked to this one (PROTOCOL.md §13), so that both hold the user
    /// key and appear on one list.
    ///
    /// # Errors
    /// [`AccountError::AccountExists`] if the store already holds one; a
    /// [`StorageError`] if the store fails.
    pub fn create<R: CryptoRng + ?Sized>(
        store: S,
        keyring: StorageKeyring,
        rng: &mut R,
        address: &DeviceAddress,
        now: u64,
    ) -> crate::Result<Self> {
        let identity = IdentityKeyPair::generate(rng);
        let user = UserIdentityKeyPair::generate(rng);
        let list = DeviceList::first(
            &user,
            address.user(),
            now,
            [(address.device_id(), identity.public_key(), now)],
        )?;
        Self::install(
            store,
            keyring,
            rng,
            identity,
            user,
            address.clone(),
            &list,
            now,
        )
    }

    /// Writes a new account into an empty store: the account record and
    /// the user's record with its first list on this device, in one
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    fn install<R: CryptoRng + ?Sized>(
        store: S,
        keyring: StorageKeyring,
        rng: &mut R,
        identity: IdentityKeyPair,
        user: UserIdentityKeyPair,
        address: DeviceAddress,
        list: &crate::VerifiedDeviceList,
        now: u64,
    ) -> crate::Result<Self> {
        let mut txn = store.transaction()?;
        if txn.account()?.is_some() {
            return Err(AccountError::AccountExists.into());
        }
        let frame = AccountFrame {
            identity_secret: secret_array(&identity.to_secret_bytes()),
            user_secret: secret_array(&user.to_secret_bytes()),
            address: address.clone(),
            created_at: now,
            next_signed_id: 1,
            next_one_time_id: 1,
            next_kem_id: 1,
        };
        let sealed = keyring.seal(rng, RecordKey::Account, &frame.to_secret_vec())?;
        txn.put_account(&sealed)?;
        user_records::store_user(&mut txn, &keyring, rng, list, true, now)?;
        txn.commit()?;
        Ok(Self::with_identity(store, keyring, identity, user, address))
    }

    /// An account with the default settings and trust policy.
    fn with_identity(
        store: S,
        keyring: StorageKeyring,
        identity: IdentityKeyPair,
        user: UserIdentityKeyPair,
        address: DeviceAddress,
    ) -> Self {
        Account {
            store,
            keyring,
            identity,
            user,
            address,
            config: AccountConfig::default(),
            policy: TrustOnFirstUse,
            cache: Default::default(),
            users: Default::default(),
            groups: Default::default(),
        }
    }

    /// Opens the account a store holds.
    ///
    /// # Errors
    /// [`AccountError::NoAccount`] if there is none; a [`StorageError`] if
    /// the store fails or the record does not open under the keyring.
    pub fn open(store: S, keyring: StorageKeyring) -> crate::Result<Self> {
        let (identity, user, address) = {
            let mut txn = store.transaction()?;
            let frame = load_account(&mut txn, &keyring)?;
            (
                IdentityKeyPair::from_secret_bytes(&frame.identity_secret[..])?,
                UserIdentityKeyPair::from_secret_bytes(&frame.user_secret[..])?,
                frame.address.clone(),
            )
        };
        Ok(Self::with_identity(store, keyring, identity, user, address))
    }
}

/// A 32-byte secret, copied out of a secret buffer into a wiped array.
fn secret_array(secret: &crate::SecretBytes) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    if let (Some(dst), Some(src)) = (out.get_mut(..), secret.as_bytes().get(..32)) {
        dst.copy_from_slice(src);
    }
    out
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Replaces the settings.
    pub fn with_config(mut self, config: AccountConfig) -> Self {
        self.config = config;
        self.cache().clear();
        self
    }

    /// Replaces the trust policy (the default is [`TrustOnFirstUse`]).
    pub fn with_trust_policy<Q: TrustPolicy>(self, policy: Q) -> Account<S, Q> {
        Account {
            store: self.store,
            keyring: self.keyring,
            identity: self.identity,
            user: self.user,
            address: self.address,
            config: self.config,
            policy,
            cache: self.cache,
            users: self.users,
            groups: self.groups,
        }
    }

    /// This device's identity key.
    pub fn identity_key(&self) -> &IdentityKey {
        self.identity.public_key()
    }

    /// This device's address, as the account was created (or linked)
    /// with. Every session binds it (PROTOCOL.md §6.6).
    pub fn address(&self) -> &DeviceAddress {
        &self.address
    }

    /// This account's user identity key: the key that signs its device
    /// lists, and whose per-person safety number peers compare.
    pub fn user_identity_key(&self) -> &UserIdentityKey {
        self.user.public_key()
    }

    /// The settings.
    pub fn config(&self) -> &AccountConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// What is on record about a peer device's identity key.
    ///
    /// # Errors
    /// A [`StorageError`] if the store fails.
    pub fn peer_identity(&self, peer: &DeviceAddress) -> crate::Result<Option<KnownIdentity>> {
        let mut txn = self.store.transaction()?;
        self.load_identity(&mut txn, peer)
    }

    /// The safety number of this device's identity key and the one on
    /// record for the peer device, for the two users to compare; `None`
    /// before any key is on record.
    ///
    /// # Errors
    /// A [`StorageError`] if the store fails.
    pub fn safety_number(
        &self,
        peer: &DeviceAddress,
    ) -> crate::Result<Option<crate::client::SafetyNumber>> {
        Ok(self
            .peer_identity(peer)?
            .map(|k| crate::client::SafetyNumber::new(self.identity_key(), k.key())))
    }

    /// Accepts `key` as the peer device's identity key (after the user
    /// confirmed a change), closing every session with another key. A
    /// message refused with [`TrustError::IdentityChanged`] can then be
    /// decrypted again.
    ///
    /// # Errors
    /// A [`StorageError`] if the store fails.
    pub fn accept_identity<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        key: &IdentityKey,
        now: u64,
    ) -> crate::Result<()> {
        let mut txn = self.store.transaction()?;
        let known = self.load_identity(&mut txn, peer)?;
        if known.as_ref().is_some_and(|k| *k.key() == *key) {
            return Ok(());
        }
        if known.is_some() {
            txn.remove_sessions(peer)?;
        }
        self.store_identity(&mut txn, rng, peer, key, false, now)?;
        txn.commit()?;
        self.cache().forget(peer);
        Ok(())
    }

    /// Marks the peer device's identity key verified, after the users
    /// compared safety numbers. `key` is the key they compared.
    ///
    /// # Errors
    /// [`AccountError::IdentityMismatch`] unless `key` is the key on record;
    /// a [`StorageError`] if the store fails.
    pub fn mark_verified<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        key: &IdentityKey,
    ) -> crate::Result<()> {
        let mut txn = self.store.transaction()?;
        match self.load_identity(&mut txn, peer)? {
            Some(k) if *k.key() == *key => {
                self.store_identity(&mut txn, rng, peer, key, true, k.first_seen())?;
                Ok(txn.commit()?)
            }
            _ => Err(AccountError::IdentityMismatch.into()),
        }
    }

    /// Reseals every record not sealed under the keyring's current key,
    /// in one transaction; returns how many were resealed. After it, keys
    /// other than the current one can be dropped from the keyring.
    ///
    /// # Errors
    /// A [`StorageError`] if the store fails or a record does not open.
    pub fn reseal_all<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> crate::Result<usize> {
        let mut txn = self.store.transaction()?;
        let mut count = usize::from(self.reseal(&mut txn, rng, RecordKey::Account)?);
        for user in txn.peer_user_addresses()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::PeerUser(&user))?);
        }
        for peer in txn.peer_identity_addresses()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::PeerIdentity(&peer))?);
        }
        for peer in txn.session_addresses()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::Sessions(&peer))?);
        }
        for id in txn.signed_prekey_ids()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::SignedPreKey(id))?);
        }
        for id in txn.one_time_prekey_ids()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::OneTimePreKey(id))?);
        }
        for id in txn.kem_prekey_ids()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::KemPreKey(id))?);
        }
        for id in txn.last_resort_kem_prekey_ids()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::LastResortKemPreKey(id))?);
        }
        for group in txn.group_ids()? {
            count += usize::from(self.reseal(&mut txn, rng, RecordKey::Group(&group))?);
            for sender in txn.group_senders(&group)? {
                let key = RecordKey::GroupSenderKeys(&group, &sender);
                count += usize::from(self.reseal(&mut txn, rng, key)?);
            }
        }
        txn.commit()?;
        // Every cached record was resealed: the cache no longer matches.
        self.cache().clear();
        Ok(count)
    }

    /// Reseals the record at `key` under the current storage key if it
    /// was sealed under another; whether it was.
    fn reseal<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        key: RecordKey<'_>,
    ) -> crate::Result<bool> {
        let Some(sealed) = get_record(txn, key)? else {
            return Ok(false);
        };
        if !self.keyring.is_stale(&sealed) {
            return Ok(false);
        }
        let plain = self.keyring.open_raw(key, &sealed)?;
        put_record(txn, key, &self.keyring.seal(rng, key, &plain)?)?;
        Ok(true)
    }

    fn load_identity<T: StoreTransaction>(
        &self,
        txn: &mut T,
        peer: &DeviceAddress,
    ) -> crate::Result<Option<KnownIdentity>> {
        let key = RecordKey::PeerIdentity(peer);
        let Some(sealed) = txn.peer_identity(peer)? else {
            return Ok(None);
        };
        let plain = self.keyring.open_raw(key, &sealed)?;
        let invalid = StorageError::InvalidRecord { table: key.table() };
        let frame = PeerIdentityFrame::decode(&plain).map_err(|_| invalid.clone())?;
        let identity = IdentityKey::from_bytes(&frame.identity_key).map_err(|_| invalid)?;
        Ok(Some(KnownIdentity::new(
            identity,
            frame.verified,
            frame.first_seen,
        )))
    }

    fn store_identity<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        key: &IdentityKey,
        verified: bool,
        first_seen: u64,
    ) -> crate::Result<()> {
        let frame = PeerIdentityFrame {
            identity_key: key.to_bytes(),
            verified,
            first_seen,
        };
        let sealed = self
            .keyring
            .seal(rng, RecordKey::PeerIdentity(peer), &frame.to_vec())?;
        Ok(txn.put_peer_identity(peer, &sealed)?)
    }

    /// Applies the trust policy to a key `peer` presents, recording it if
    /// the policy trusts it and it is new or changed. On a change, the
    /// sessions with the old key are dropped from `set`.
    fn check_trust<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        presented: &IdentityKey,
        set: &mut SessionSet,
        now: u64,
    ) -> crate::Result<IdentityStatus> {
        let known = self.load_identity(txn, peer)?;
        let decision = self.policy.decide(peer, known.as_ref(), presented);
        match (decision, known) {
            (TrustDecision::Refuse, Some(k)) if *k.key() != *presented => {
                Err(TrustError::IdentityChanged {
                    address: peer.clone(),
                    old: Box::new(k.into_key()),
                    new: Box::new(presented.clone()),
                }
                .into())
            }
            (TrustDecision::Refuse, _) => Err(TrustError::Untrusted {
                address: peer.clone(),
                key: Box::new(presented.clone()),
            }
            .into()),
            (TrustDecision::Trust, None) => {
                self.store_identity(txn, rng, peer, presented, false, now)?;
                Ok(IdentityStatus::New)
            }
            (TrustDecision::Trust, Some(k)) if *k.key() == *presented => Ok(IdentityStatus::Known),
            (TrustDecision::Trust, Some(k)) => {
                self.store_identity(txn, rng, peer, presented, false, now)?;
                set.clear();
                Ok(IdentityStatus::Changed {
                    previous: Box::new(k.into_key()),
                })
            }
        }
    }

    /// The sessions with `peer`, from the cache if it holds the set for
    /// exactly the sealed record the store holds, else opened and decoded.
    fn load_sessions<T: StoreTransaction>(
        &self,
        txn: &mut T,
        peer: &DeviceAddress,
    ) -> crate::Result<SessionSet> {
        Ok(self.load_sessions_and_record(txn, peer)?.0)
    }

    /// As `load_sessions`, also returning the sealed record read.
    fn load_sessions_and_record<T: StoreTransaction>(
        &self,
        txn: &mut T,
        peer: &DeviceAddress,
    ) -> crate::Result<(SessionSet, Option<Vec<u8>>)> {
        let sealed = txn.sessions(peer)?;
        Ok((self.open_sessions(peer, sealed.as_deref())?, sealed))
    }

    /// The sessions with `peer` in `sealed`, the record the store holds:
    /// from the cache if it holds the set for exactly those bytes, else
    /// opened and decoded.
    fn open_sessions(
        &self,
        peer: &DeviceAddress,
        sealed: Option<&[u8]>,
    ) -> crate::Result<SessionSet> {
        let key = RecordKey::Sessions(peer);
        let Some(sealed) = sealed else {
            return Ok(SessionSet::default());
        };
        if let Some(set) = self.cache().take(peer, sealed) {
            return Ok(set);
        }
        let (plain, base) = self.keyring.open_with_base(key, sealed)?;
        let mut set = SessionSet::decode(&plain)
            .map_err(|_| StorageError::InvalidRecord { table: key.table() })?;
        set.base = base.map(Box::new);
        Ok(set)
    }

    /// Writes the sessions with `peer`; returns the sealed record written
    /// (`None` if the set was empty and the record removed), for
    /// [`Account::remember`] once the transaction has committed.
    fn store_sessions<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        set: &mut SessionSet,
        now: u64,
    ) -> crate::Result<Option<Vec<u8>>> {
        let c = &self.config;
        set.trim(c.max_archived_sessions, c.archived_session_ttl, now);
        if set.is_empty() {
            txn.remove_sessions(peer)?;
            return Ok(None);
        }
        let plain = set.encode();
        let key = RecordKey::Sessions(peer);
        // A message changes a few dozen bytes of the set: seal only those
        // when the set was stored split, else the whole set (STORAGE.md
        // §2.5).
        let patched = match &set.base {
            Some(base) => self.keyring.seal_patch(rng, key, base, &plain)?,
            None => None,
        };
        let sealed = match patched {
            Some(sealed) => sealed,
            None => {
                let (sealed, base) = self.keyring.seal_split(rng, key, &plain)?;
                set.base = Some(Box::new(base));
                sealed
            }
        };
        txn.put_sessions(peer, &sealed)?;
        Ok(Some(sealed))
    }

    /// Caches the decoded `set` as what `sealed` holds. Call only after
    /// the transaction that wrote (or read) `sealed` committed.
    fn remember(&self, peer: &DeviceAddress, sealed: Option<Vec<u8>>, set: SessionSet) {
        if let Some(sealed) = sealed {
            self.cache()
                .put(peer, sealed, set, self.config.session_cache);
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, SessionCache> {
        lock_cache(&self.cache)
    }
}

/// Loads and opens the account record.
fn load_account<T: StoreTransaction>(
    txn: &mut T,
    keyring: &StorageKeyring,
) -> crate::Result<AccountFrame> {
    let sealed = txn.account()?.ok_or(AccountError::NoAccount)?;
    let plain = keyring.open_raw(RecordKey::Account, &sealed)?;
    AccountFrame::decode(&plain).map_err(|_| {
        StorageError::InvalidRecord {
            table: RecordKey::Account.table(),
        }
        .into()
    })
}

impl<S: ClientStore, P: TrustPolicy> fmt::Debug for Account<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("address", &self.address)
            .field("identity", self.identity.public_key())
            .field("user", self.user.public_key())
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}
