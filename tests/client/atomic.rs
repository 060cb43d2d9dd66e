//! Every `Account` operation is one store transaction: a store that fails
//! at its n-th write (for every n in turn, the commit included) leaves
//! every table exactly as it was, and retrying the same operation then
//! succeeds — so no message is lost and no key is used twice.

use crate::common as client_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use client_common::{Device, NOW, bundle, device, register};
use kinseal::client::store::{
    GroupStore, HandshakeLog, IdentityStore, KemPreKeyStore, LastResortKemPreKeyStore,
    OneTimePreKeyStore, SessionStore, SignedPreKeyStore, StoreResult, StoreTransaction,
};
use kinseal::client::{
    Account, ClientStore, DeviceAddress, MemoryStore, StorageKey, StorageKeyring, UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{Error, GroupId, OsRng, PreKeyMessage, ProtocolError, StorageError};

/// A store whose writes fail from the n-th on.
#[derive(Default)]
pub(crate) struct FailingStore {
    inner: MemoryStore,
    /// Writes (and commits) still allowed; `usize::MAX` for no limit.
    allowed: AtomicUsize,
    /// Writes seen since the budget was last set.
    seen: AtomicUsize,
}

impl FailingStore {
    pub(crate) fn new() -> Self {
        FailingStore {
            allowed: AtomicUsize::new(usize::MAX),
            ..Default::default()
        }
    }

    fn fail_from(&self, n: usize) {
        self.seen.store(0, Ordering::SeqCst);
        self.allowed.store(n, Ordering::SeqCst);
    }

    fn never_fail(&self) -> usize {
        self.allowed.store(usize::MAX, Ordering::SeqCst);
        self.seen.load(Ordering::SeqCst)
    }

    fn write(&self) -> StoreResult<()> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        let allowed = self.allowed.load(Ordering::SeqCst);
        if allowed == 0 {
            return Err(StorageError::Io);
        }
        if allowed != usize::MAX {
            self.allowed.store(allowed - 1, Ordering::SeqCst);
        }
        Ok(())
    }
}

pub(crate) struct FailingTxn<'a> {
    inner: <MemoryStore as ClientStore>::Transaction<'a>,
    store: &'a FailingStore,
}

impl ClientStore for FailingStore {
    type Transaction<'a> = FailingTxn<'a>;

    fn transaction(&self) -> StoreResult<FailingTxn<'_>> {
        Ok(FailingTxn {
            inner: self.inner.transaction()?,
            store: self,
        })
    }
}

impl StoreTransaction for FailingTxn<'_> {
    fn commit(self) -> StoreResult<()> {
        self.store.write()?;
        self.inner.commit()
    }
    fn savepoint(&mut self) -> StoreResult<()> {
        self.inner.savepoint()
    }
    fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        self.inner.rollback_to_savepoint()
    }
    fn release_savepoint(&mut self) -> StoreResult<()> {
        self.inner.release_savepoint()
    }
}

impl IdentityStore for FailingTxn<'_> {
    fn account(&mut self) -> StoreResult<Option<Vec<u8>>> {
        self.inner.account()
    }
    fn put_account(&mut self, record: &[u8]) -> StoreResult<()> {
        self.store.write()?;
        self.inner.put_account(record)
    }
    fn peer_identity(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        self.inner.peer_identity(peer)
    }
    fn put_peer_identity(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        self.store.write()?;
        self.inner.put_peer_identity(peer, record)
    }
    fn peer_identity_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>> {
        self.inner.peer_identity_addresses()
    }
    fn peer_user(&mut self, user: &UserAddress) -> StoreResult<Option<Vec<u8>>> {
        self.inner.peer_user(user)
    }
    fn put_peer_user(&mut self, user: &UserAddress, record: &[u8]) -> StoreResult<()> {
        self.store.write()?;
        self.inner.put_peer_user(user, record)
    }
    fn peer_user_addresses(&mut self) -> StoreResult<Vec<UserAddress>> {
        self.inner.peer_user_addresses()
    }
}

macro_rules! failing_prekeys {
    ($trait:ident, $get:ident, $put:ident, $remove:ident, $ids:ident) => {
        impl $trait for FailingTxn<'_> {
            fn $get(&mut self, id: u32) -> StoreResult<Option<Vec<u8>>> {
                self.inner.$get(id)
            }
            fn $put(&mut self, id: u32, record: &[u8]) -> StoreResult<()> {
                self.store.write()?;
                self.inner.$put(id, record)
            }
            fn $remove(&mut self, id: u32) -> StoreResult<bool> {
                self.store.write()?;
                self.inner.$remove(id)
            }
            fn $ids(&mut self) -> StoreResult<Vec<u32>> {
                self.inner.$ids()
            }
        }
    };
}

failing_prekeys!(
    SignedPreKeyStore,
    signed_prekey,
    put_signed_prekey,
    remove_signed_prekey,
    signed_prekey_ids
);
failing_prekeys!(
    OneTimePreKeyStore,
    one_time_prekey,
    put_one_time_prekey,
    remove_one_time_prekey,
    one_time_prekey_ids
);
failing_prekeys!(
    KemPreKeyStore,
    kem_prekey,
    put_kem_prekey,
    remove_kem_prekey,
    kem_prekey_ids
);
failing_prekeys!(
    LastResortKemPreKeyStore,
    last_resort_kem_prekey,
    put_last_resort_kem_prekey,
    remove_last_resort_kem_prekey,
    last_resort_kem_prekey_ids
);

impl SessionStore for FailingTxn<'_> {
    fn sessions(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        self.inner.sessions(peer)
    }
    fn put_sessions(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        self.store.write()?;
        self.inner.put_sessions(peer, record)
    }
    fn remove_sessions(&mut self, peer: &DeviceAddress) -> StoreResult<bool> {
        self.store.write()?;
        self.inner.remove_sessions(peer)
    }
    fn session_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>> {
        self.inner.session_addresses()
    }
}

impl GroupStore for FailingTxn<'_> {
    fn group(&mut self, group: &GroupId) -> StoreResult<Option<Vec<u8>>> {
        self.inner.group(group)
    }
    fn put_group(&mut self, group: &GroupId, record: &[u8]) -> StoreResult<()> {
        self.store.write()?;
        self.inner.put_group(group, record)
    }
    fn remove_group(&mut self, group: &GroupId) -> StoreResult<bool> {
        self.store.write()?;
        self.inner.remove_group(group)
    }
    fn group_ids(&mut self) -> StoreResult<Vec<GroupId>> {
        self.inner.group_ids()
    }
    fn group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.inner.group_sender_keys(group, sender)
    }
    fn put_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
        record: &[u8],
    ) -> StoreResult<()> {
        self.store.write()?;
        self.inner.put_group_sender_keys(group, sender, record)
    }
    fn remove_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<bool> {
        self.store.write()?;
        self.inner.remove_group_sender_keys(group, sender)
    }
    fn group_senders(&mut self, group: &GroupId) -> StoreResult<Vec<DeviceAddress>> {
        self.inner.group_senders(group)
    }
}

impl HandshakeLog for FailingTxn<'_> {
    fn contains_handshake(&mut self, id: &[u8; 32]) -> StoreResult<bool> {
        self.inner.contains_handshake(id)
    }
    fn record_handshake(&mut self, id: &[u8; 32], last_resort_id: u32) -> StoreResult<()> {
        self.store.write()?;
        self.inner.record_handshake(id, last_resort_id)
    }
    fn handshake_count(&mut self, last_resort_id: u32) -> StoreResult<usize> {
        self.inner.handshake_count(last_resort_id)
    }
    fn forget_handshakes(&mut self, last_resort_id: u32) -> StoreResult<usize> {
        self.store.write()?;
        self.inner.forget_handshakes(last_resort_id)
    }
}

/// Every record of the store, by table and key, plus whether each of
/// `handshakes` is logged.
fn dump(store: &FailingStore, handshakes: &[[u8; 32]]) -> BTreeMap<String, Vec<u8>> {
    let mut t = store.inner.transaction().unwrap();
    let mut out = BTreeMap::new();
    if let Some(a) = t.account().unwrap() {
        out.insert("account".into(), a);
    }
    for a in t.peer_identity_addresses().unwrap() {
        out.insert(
            format!("identity {a:?}"),
            t.peer_identity(&a).unwrap().unwrap(),
        );
    }
    for a in t.session_addresses().unwrap() {
        out.insert(format!("sessions {a:?}"), t.sessions(&a).unwrap().unwrap());
    }
    for u in t.peer_user_addresses().unwrap() {
        out.insert(format!("user {u:?}"), t.peer_user(&u).unwrap().unwrap());
    }
    for id in t.signed_prekey_ids().unwrap() {
        out.insert(
            format!("signed {id}"),
            t.signed_prekey(id).unwrap().unwrap(),
        );
    }
    for id in t.one_time_prekey_ids().unwrap() {
        out.insert(
            format!("one-time {id}"),
            t.one_time_prekey(id).unwrap().unwrap(),
        );
    }
    for id in t.kem_prekey_ids().unwrap() {
        out.insert(format!("kem {id}"), t.kem_prekey(id).unwrap().unwrap());
    }
    for id in t.last_resort_kem_prekey_ids().unwrap() {
        out.insert(
            format!("last-resort {id}"),
            t.last_resort_kem_prekey(id).unwrap().unwrap(),
        );
    }
    for g in t.group_ids().unwrap() {
        out.insert(format!("group {g:?}"), t.group(&g).unwrap().unwrap());
        for d in t.group_senders(&g).unwrap() {
            out.insert(
                format!("sender keys {g:?} {d:?}"),
                t.group_sender_keys(&g, &d).unwrap().unwrap(),
            );
        }
    }
    for h in handshakes {
        let logged = t.contains_handshake(h).unwrap();
        out.insert(format!("handshake {h:?}"), vec![u8::from(logged)]);
    }
    out
}

/// Runs `op` with the store failing at its first write, then its second,
/// and so on, checking after each failure that nothing changed, until it
/// succeeds. Returns its result and how many writes it made.
pub(crate) fn through_every_failure<T>(
    store: &FailingStore,
    handshakes: &[[u8; 32]],
    mut op: impl FnMut() -> kinseal::Result<T>,
) -> (T, usize) {
    for n in 0.. {
        let before = dump(store, handshakes);
        store.fail_from(n);
        let result = op();
        let writes = store.never_fail();
        match result {
            Ok(value) => {
                assert_eq!(writes, n, "succeeded with a failure injected");
                return (value, writes);
            }
            Err(Error::Storage(StorageError::Io)) => {
                assert_eq!(
                    dump(store, handshakes),
                    before,
                    "failure at write {n} left a trace"
                );
            }
            Err(other) => panic!("failure at write {n} gave {other:?}"),
        }
    }
    unreachable!()
}

#[test]
fn every_operation_is_all_or_nothing_at_every_write() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob_store = Arc::new(FailingStore::new());
    let bob: Device<Arc<FailingStore>> = register(
        &dir,
        client_common::address("parley", "bob", 1),
        Arc::clone(&bob_store),
    );
    bob.introduce(&alice);
    let mut counts = Vec::new();

    // Prekey refresh after the directory handed some out.
    dir.take_bundle(&bob.address).unwrap();
    let published = dir.device(&bob.address).unwrap().counts();
    let (_, w) = through_every_failure(&bob_store, &[], || {
        bob.account
            .refresh_prekeys(&mut OsRng, NOW + 8 * client_common::DAY, Some(published))
    });
    counts.push(("refresh_prekeys", w));

    // Starting a session.
    let b = bundle(&dir, &alice.address);
    let (_, w) = through_every_failure(&bob_store, &[], || {
        bob.account
            .start_session(&mut OsRng, &alice.address, &b, NOW)
    });
    counts.push(("start_session", w));
    let (first_to_alice, w) = through_every_failure(&bob_store, &[], || {
        bob.account
            .encrypt(&mut OsRng, &alice.address, b"hi Alice", NOW)
    });
    counts.push(("encrypt", w));
    assert_eq!(alice.receive(&bob, &first_to_alice).unwrap(), b"hi Alice");

    // Alice starts her own session too: Bob's decrypt of her first
    // message consumes two one-time prekeys, records her identity (already
    // known) and writes the session set, all or nothing.
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "hello Bob");
    let (got, w) = through_every_failure(&bob_store, &[], || {
        bob.account.decrypt(&mut OsRng, &alice.address, &first, NOW)
    });
    counts.push(("decrypt PreKeyMessage", w));
    assert_eq!(got.plaintext(), b"hello Bob");
    assert_eq!(
        bob.receive(&alice, &first),
        Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
    );

    // Ordinary messages, one of them out of order.
    let m1 = alice.send(&bob, "one");
    let m2 = alice.send(&bob, "two");
    for (m, text) in [(&m2, "two"), (&m1, "one")] {
        let (got, w) = through_every_failure(&bob_store, &[], || {
            bob.account.decrypt(&mut OsRng, &alice.address, m, NOW)
        });
        counts.push(("decrypt Message", w));
        assert_eq!(got.plaintext(), text.as_bytes());
    }

    // A handshake on the last-resort keys logs its id with the session.
    let carol = device(&dir, "murmur", "carol", 1);
    carol.introduce(&bob);
    while !dir.take_bundle(&bob.address).unwrap().used_last_resort() {}
    let b = bundle(&dir, &bob.address);
    carol
        .account
        .start_session(&mut OsRng, &bob.address, &b, NOW)
        .unwrap();
    let from_carol = carol.send(&bob, "last resort");
    let h = *PreKeyMessage::from_bytes(&from_carol)
        .unwrap()
        .handshake_id()
        .as_bytes();
    let (got, w) = through_every_failure(&bob_store, &[h], || {
        bob.account
            .decrypt(&mut OsRng, &carol.address, &from_carol, NOW)
    });
    counts.push(("decrypt last-resort PreKeyMessage", w));
    assert_eq!(got.plaintext(), b"last resort");

    // A device list that adds a device of Alice's, then one that removes
    // it again: the list and the sessions with the removed device commit
    // together or not at all.
    let alice2 = device(&dir, "chirp", "alice", 2);
    let v2 = alice
        .account
        .add_device(&mut OsRng, 2, alice2.account.identity_key(), NOW)
        .unwrap()
        .to_bytes();
    let (change, w) = through_every_failure(&bob_store, &[h], || {
        bob.account.update_device_lists(&mut OsRng, &[&v2], NOW)
    });
    counts.push(("update_device_lists (added)", w));
    assert_eq!(change.added(), std::slice::from_ref(&alice2.address));
    alice2
        .account
        .update_device_lists(
            &mut OsRng,
            &[bob.account.device_list().unwrap().to_bytes()],
            NOW,
        )
        .unwrap();
    let b = bundle(&dir, &bob.address);
    alice2
        .account
        .start_session(&mut OsRng, &bob.address, &b, NOW)
        .unwrap();
    let from_alice2 = alice2.send(&bob, "from Alice's second device");
    bob.receive(&alice2, &from_alice2).unwrap();
    let v3 = alice
        .account
        .remove_device(&mut OsRng, 2, NOW)
        .unwrap()
        .to_bytes();
    let (change, w) = through_every_failure(&bob_store, &[h], || {
        bob.account.update_device_lists(&mut OsRng, &[&v3], NOW)
    });
    counts.push(("update_device_lists (removed)", w));
    assert_eq!(change.removed(), std::slice::from_ref(&alice2.address));
    assert!(!bob.account.has_session(&alice2.address).unwrap());

    // Accepting a changed identity; resealing under a new storage key.
    let key = alice.account.identity_key().clone();
    let (_, w) = through_every_failure(&bob_store, &[h], || {
        bob.account
            .accept_identity(&mut OsRng, &carol.address, &key, NOW)
    });
    counts.push(("accept_identity", w));
    let rotated = StorageKeyring::new(StorageKey::new(2, &[2; 32]))
        .with_previous(StorageKey::new(1, &[0x5a; 32]))
        .unwrap();
    let bob_rotated = Account::open(Arc::clone(&bob_store), rotated).unwrap();
    let (n, w) = through_every_failure(&bob_store, &[h], || bob_rotated.reseal_all(&mut OsRng));
    counts.push(("reseal_all", w));
    assert!(n > 10);
    let (_, w) = through_every_failure(&bob_store, &[h], || {
        bob_rotated.expire_sessions(&mut OsRng, NOW + 400 * client_common::DAY)
    });
    counts.push(("expire_sessions", w));

    // Every operation wrote at least its record and its commit.
    for (op, writes) in &counts {
        assert!(*writes >= 2, "{op} made {writes} writes");
    }
    let prekey = counts
        .iter()
        .find(|(op, _)| *op == "decrypt PreKeyMessage")
        .unwrap();
    // Two prekey removals, the session set, the commit.
    assert!(prekey.1 >= 4, "{prekey:?}");
    eprintln!("writes per operation: {counts:?}");
}

#[test]
fn a_message_handed_over_inside_the_transaction_is_never_lost() {
    let dir = MemoryDirectory::new();
    let alice = device(&dir, "chirp", "alice", 1);
    let bob = device(&dir, "parley", "bob", 1);
    alice.start(&dir, &bob);
    let first = alice.send(&bob, "keep me");
    let before = one_time_ids(&bob);

    // The app fails to store the plaintext: nothing is committed.
    let refused = bob
        .account
        .decrypt_with(&mut OsRng, &alice.address, &first, NOW, |d| {
            assert_eq!(d.plaintext(), b"keep me");
            Err::<(), _>("disk full")
        })
        .unwrap();
    assert_eq!(refused.err(), Some("disk full"));
    assert_eq!(one_time_ids(&bob), before);
    assert!(!bob.account.has_session(&alice.address).unwrap());

    // Delivered again, it decrypts; the app stores it this time.
    let mut stored = Vec::new();
    let (decrypted, ()) = bob
        .account
        .decrypt_with(&mut OsRng, &alice.address, &first, NOW, |d| {
            stored.extend_from_slice(d.plaintext());
            Ok::<(), &str>(())
        })
        .unwrap()
        .unwrap();
    assert_eq!(stored, b"keep me");
    assert!(decrypted.new_session());
    assert_eq!(
        bob.receive(&alice, &first),
        Err(Error::Protocol(ProtocolError::Duplicate { index: 0 }))
    );
}

fn one_time_ids(d: &Device) -> (Vec<u32>, Vec<u32>) {
    let mut txn = d.account.store().transaction().unwrap();
    (
        txn.one_time_prekey_ids().unwrap(),
        txn.kem_prekey_ids().unwrap(),
    )
}
