//! Store conformance: one suite of checks of the `ClientStore` contract,
//! run against `MemoryStore`, `SqliteStore` on a file and `SqliteStore` in
//! memory. Reads see the transaction's own writes; dropping a transaction
//! without committing undoes every kind of write; a commit survives
//! reopening the file; ids come back ascending; removing what is not there
//! says so; and concurrent read-modify-write transactions never lose an
//! update, from one store handle or (SQLite) from two on the same file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use kinseal::StorageError;
use kinseal::client::store::{HandshakeLog, IdentityStore, SessionStore};
use kinseal::client::{ClientStore, DeviceAddress, MemoryStore, SqliteStore, StoreTransaction};

/// Increments per thread in the concurrency checks.
const INCREMENTS: u64 = 200;

/// The four prekey tables, so one check covers them all.
#[derive(Clone, Copy, Debug)]
enum PreKeys {
    Signed,
    OneTime,
    Kem,
    LastResort,
}

const PREKEY_TABLES: [PreKeys; 4] = [
    PreKeys::Signed,
    PreKeys::OneTime,
    PreKeys::Kem,
    PreKeys::LastResort,
];

fn get<T: StoreTransaction>(t: &mut T, table: PreKeys, id: u32) -> Option<Vec<u8>> {
    match table {
        PreKeys::Signed => t.signed_prekey(id),
        PreKeys::OneTime => t.one_time_prekey(id),
        PreKeys::Kem => t.kem_prekey(id),
        PreKeys::LastResort => t.last_resort_kem_prekey(id),
    }
    .unwrap()
}

fn put<T: StoreTransaction>(t: &mut T, table: PreKeys, id: u32, record: &[u8]) {
    match table {
        PreKeys::Signed => t.put_signed_prekey(id, record),
        PreKeys::OneTime => t.put_one_time_prekey(id, record),
        PreKeys::Kem => t.put_kem_prekey(id, record),
        PreKeys::LastResort => t.put_last_resort_kem_prekey(id, record),
    }
    .unwrap();
}

fn remove<T: StoreTransaction>(t: &mut T, table: PreKeys, id: u32) -> bool {
    match table {
        PreKeys::Signed => t.remove_signed_prekey(id),
        PreKeys::OneTime => t.remove_one_time_prekey(id),
        PreKeys::Kem => t.remove_kem_prekey(id),
        PreKeys::LastResort => t.remove_last_resort_kem_prekey(id),
    }
    .unwrap()
}

fn ids<T: StoreTransaction>(t: &mut T, table: PreKeys) -> Vec<u32> {
    match table {
        PreKeys::Signed => t.signed_prekey_ids(),
        PreKeys::OneTime => t.one_time_prekey_ids(),
        PreKeys::Kem => t.kem_prekey_ids(),
        PreKeys::LastResort => t.last_resort_kem_prekey_ids(),
    }
    .unwrap()
}

fn address(app: &[u8], user: &[u8], device: u32) -> DeviceAddress {
    DeviceAddress::new(app, user, device).unwrap()
}

/// Handshake ids the checks use (a store cannot list its handshakes).
fn handshake(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Everything a transaction can see, read through the traits.
#[derive(Debug, PartialEq, Eq, Default)]
struct Snapshot {
    account: Option<Vec<u8>>,
    identities: BTreeMap<DeviceAddress, Vec<u8>>,
    sessions: BTreeMap<DeviceAddress, Vec<u8>>,
    prekeys: Vec<BTreeMap<u32, Vec<u8>>>,
    handshakes: Vec<u8>,
    /// How many handshakes each last-resort key id 0..=9 has logged.
    handshake_counts: Vec<usize>,
}

fn snapshot<T: StoreTransaction>(t: &mut T) -> Snapshot {
    let identities = t
        .peer_identity_addresses()
        .unwrap()
        .into_iter()
        .map(|a| {
            let record = t.peer_identity(&a).unwrap().unwrap();
            (a, record)
        })
        .collect();
    let sessions = t
        .session_addresses()
        .unwrap()
        .into_iter()
        .map(|a| {
            let record = t.sessions(&a).unwrap().unwrap();
            (a, record)
        })
        .collect();
    let prekeys = PREKEY_TABLES
        .iter()
        .map(|&table| {
            ids(t, table)
                .into_iter()
                .map(|id| (id, get(t, table, id).unwrap()))
                .collect()
        })
        .collect();
    let handshakes = (0..=255u8)
        .filter(|&n| t.contains_handshake(&handshake(n)).unwrap())
        .collect();
    let handshake_counts = (0..=9).map(|id| t.handshake_count(id).unwrap()).collect();
    Snapshot {
        account: t.account().unwrap(),
        identities,
        sessions,
        prekeys,
        handshakes,
        handshake_counts,
    }
}

fn snapshot_of<S: ClientStore>(store: &S) -> Snapshot {
    snapshot(&mut store.transaction().unwrap())
}

/// Writes one or more records of every kind, all tagged with `tag`.
fn populate<T: StoreTransaction>(t: &mut T, tag: &[u8]) {
    let with = |what: &[u8]| [tag, what].concat();
    t.put_account(&with(b"account")).unwrap();
    for (i, a) in [
        address(b"chirp", b"alice", 1),
        address(b"parley", b"bob", 7),
    ]
    .iter()
    .enumerate()
    {
        t.put_peer_identity(a, &with(format!("identity {i}").as_bytes()))
            .unwrap();
        t.put_sessions(a, &with(format!("sessions {i}").as_bytes()))
            .unwrap();
    }
    for table in PREKEY_TABLES {
        for id in [3, 1, 2] {
            put(t, table, id, &with(format!("{table:?} {id}").as_bytes()));
        }
    }
    t.record_handshake(&handshake(1), 1).unwrap();
    t.record_handshake(&handshake(2), 1).unwrap();
    t.record_handshake(&handshake(3), 2).unwrap();
}

/// Overwrites, removes and adds records of every kind; forgets and records
/// handshakes.
fn churn<T: StoreTransaction>(t: &mut T) {
    t.put_account(b"changed account").unwrap();
    let alice = address(b"chirp", b"alice", 1);
    let carol = address(b"chirp", b"carol", 2);
    t.put_peer_identity(&alice, b"changed identity").unwrap();
    t.put_peer_identity(&carol, b"new identity").unwrap();
    t.put_sessions(&alice, b"changed sessions").unwrap();
    t.put_sessions(&carol, b"new sessions").unwrap();
    assert!(t.remove_sessions(&address(b"parley", b"bob", 7)).unwrap());
    for table in PREKEY_TABLES {
        put(t, table, 1, b"changed prekey");
        assert!(remove(t, table, 2));
        put(t, table, 9, b"new prekey");
    }
    assert_eq!(t.forget_handshakes(1).unwrap(), 2);
    t.record_handshake(&handshake(9), 4).unwrap();
    t.record_handshake(&handshake(3), 5).unwrap();
}

mod checks {
    use super::*;

    /// Every read inside a transaction sees that transaction's writes, and
    /// the next transaction sees them once committed.
    pub(crate) fn reads_see_own_writes<S: ClientStore>(store: &S) {
        let mut t = store.transaction().unwrap();
        assert_eq!(
            snapshot(&mut t),
            Snapshot {
                prekeys: vec![BTreeMap::new(); 4],
                handshake_counts: vec![0; 10],
                ..Snapshot::default()
            }
        );
        populate(&mut t, b"a:");
        let first = snapshot(&mut t);
        assert_eq!(first.account.as_deref(), Some(&b"a:account"[..]));
        assert_eq!(first.identities.len(), 2);
        assert_eq!(first.sessions.len(), 2);
        for (table, records) in PREKEY_TABLES.iter().zip(&first.prekeys) {
            assert_eq!(records.len(), 3, "{table:?}");
        }
        assert_eq!(first.handshakes, [1, 2, 3]);
        assert_eq!(first.handshake_counts, [0, 2, 1, 0, 0, 0, 0, 0, 0, 0]);
        churn(&mut t);
        let second = snapshot(&mut t);
        let alice = address(b"chirp", b"alice", 1);
        assert_eq!(second.account.as_deref(), Some(&b"changed account"[..]));
        assert_eq!(
            t.peer_identity(&alice).unwrap().as_deref(),
            Some(&b"changed identity"[..])
        );
        assert_eq!(second.sessions.len(), 2);
        assert_eq!(t.sessions(&address(b"parley", b"bob", 7)).unwrap(), None);
        for (table, records) in PREKEY_TABLES.iter().zip(&second.prekeys) {
            assert_eq!(records.keys().copied().collect::<Vec<_>>(), [1, 3, 9]);
            assert_eq!(
                get(&mut t, *table, 1).as_deref(),
                Some(&b"changed prekey"[..])
            );
            assert_eq!(get(&mut t, *table, 2), None);
        }
        assert_eq!(second.handshakes, [3, 9]);
        // Handshake 3 moved from key 2 to key 5; 9 is new on key 4.
        assert_eq!(second.handshake_counts, [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
        t.commit().unwrap();
        assert_eq!(snapshot_of(store), second);
    }

    /// Dropping a transaction without committing undoes puts, overwrites,
    /// removals, recorded and forgotten handshakes, in an empty store and
    /// over committed records.
    pub(crate) fn drop_rolls_back_every_write<S: ClientStore>(store: &S) {
        let empty = snapshot_of(store);
        {
            let mut t = store.transaction().unwrap();
            populate(&mut t, b"lost:");
            churn(&mut t);
        }
        assert_eq!(snapshot_of(store), empty);

        let mut t = store.transaction().unwrap();
        populate(&mut t, b"kept:");
        t.commit().unwrap();
        let committed = snapshot_of(store);
        {
            let mut t = store.transaction().unwrap();
            churn(&mut t);
            populate(&mut t, b"lost:");
            assert_ne!(snapshot(&mut t), committed);
        }
        assert_eq!(snapshot_of(store), committed);
        // A transaction that only read, dropped, changes nothing either.
        let mut t = store.transaction().unwrap();
        assert_eq!(snapshot(&mut t), committed);
        drop(t);
        assert_eq!(snapshot_of(store), committed);
    }

    /// `*_ids()` are ascending over the whole `u32` range, whatever the
    /// insertion order; addresses come back whole, including extreme ones.
    pub(crate) fn ids_ascending_and_addresses_whole<S: ClientStore>(store: &S) {
        let inserted = [7, u32::MAX, 0, 1 << 31, 42, (1 << 31) - 1, 1];
        let mut sorted = inserted.to_vec();
        sorted.sort_unstable();
        let addresses = [
            address(b"chirp", b"bob", u32::MAX),
            address(b"chirp", b"bob", 0),
            address(b"chirp", b"al", 3),
            address(b"a", &[0xff; 64], 1 << 31),
            address(&[0, 1, 2], b"alice", 1),
            address(b"chirp", b"alice", 1),
        ];
        let mut expected = addresses.to_vec();
        expected.sort();
        let mut t = store.transaction().unwrap();
        for table in PREKEY_TABLES {
            for id in inserted {
                put(&mut t, table, id, &id.to_be_bytes());
            }
            assert_eq!(ids(&mut t, table), sorted, "{table:?}");
        }
        for a in &addresses {
            t.put_peer_identity(a, b"identity").unwrap();
            t.put_sessions(a, b"sessions").unwrap();
        }
        check_ids(&mut t, &inserted, &sorted, &expected);
        t.commit().unwrap();
        check_ids(
            &mut store.transaction().unwrap(),
            &inserted,
            &sorted,
            &expected,
        );
    }

    fn check_ids<T: StoreTransaction>(
        t: &mut T,
        inserted: &[u32],
        sorted: &[u32],
        expected: &[DeviceAddress],
    ) {
        for table in PREKEY_TABLES {
            assert_eq!(ids(t, table), sorted, "{table:?}");
            for &id in inserted {
                assert_eq!(get(t, table, id).unwrap(), id.to_be_bytes());
            }
        }
        let mut found = t.peer_identity_addresses().unwrap();
        found.sort();
        assert_eq!(found, expected);
        let mut found = t.session_addresses().unwrap();
        found.sort();
        assert_eq!(found, expected);
    }

    /// Removing what is not there returns false (and forgetting counts
    /// exactly); removing what is there returns true once.
    pub(crate) fn removal_says_whether_there_was_a_record<S: ClientStore>(store: &S) {
        let alice = address(b"chirp", b"alice", 1);
        let mut t = store.transaction().unwrap();
        assert!(!t.remove_sessions(&alice).unwrap());
        assert_eq!(t.forget_handshakes(1).unwrap(), 0);
        for table in PREKEY_TABLES {
            assert!(!remove(&mut t, table, 5), "{table:?}");
            put(&mut t, table, 5, b"prekey");
        }
        t.put_sessions(&alice, b"sessions").unwrap();
        t.record_handshake(&handshake(1), 1).unwrap();
        t.record_handshake(&handshake(2), 2).unwrap();
        assert_eq!(t.handshake_count(2).unwrap(), 1);
        // Recording a handshake again moves it to the new last-resort key.
        t.record_handshake(&handshake(2), 1).unwrap();
        assert_eq!(t.handshake_count(1).unwrap(), 2);
        assert_eq!(t.handshake_count(2).unwrap(), 0);
        t.commit().unwrap();

        let mut t = store.transaction().unwrap();
        for table in PREKEY_TABLES {
            // One table's removal leaves the others alone.
            assert!(get(&mut t, table, 5).is_some(), "{table:?}");
            assert!(remove(&mut t, table, 5), "{table:?}");
            assert!(!remove(&mut t, table, 5), "{table:?}");
        }
        assert!(t.remove_sessions(&alice).unwrap());
        assert!(!t.remove_sessions(&alice).unwrap());
        assert_eq!(t.forget_handshakes(2).unwrap(), 0);
        assert_eq!(t.forget_handshakes(1).unwrap(), 2);
        assert_eq!(t.forget_handshakes(1).unwrap(), 0);
        assert_eq!(t.handshake_count(1).unwrap(), 0);
        assert!(!t.contains_handshake(&handshake(1)).unwrap());
        t.commit().unwrap();
    }

    /// The counter kept in the account record, as a little-endian u64.
    pub(crate) fn counter<S: ClientStore>(store: &S) -> u64 {
        let record = store.transaction().unwrap().account().unwrap();
        record.map_or(0, |r| u64::from_le_bytes(r.try_into().unwrap()))
    }

    /// Adds one to the counter in one transaction, yielding between the
    /// read and the write so that a store that did not serialize
    /// transactions would lose updates.
    pub(crate) fn increment<S: ClientStore>(store: &S) {
        let mut t = store.transaction().unwrap();
        let n = t
            .account()
            .unwrap()
            .map_or(0, |r| u64::from_le_bytes(r.try_into().unwrap()));
        std::thread::yield_now();
        t.put_account(&(n + 1).to_le_bytes()).unwrap();
        t.commit().unwrap();
    }

    /// Two threads, each through its own handle (which may be the same
    /// store), increment the counter `INCREMENTS` times: no update is lost.
    pub(crate) fn no_lost_update<A: ClientStore + Sync, B: ClientStore + Sync>(a: &A, b: &B) {
        let before = counter(a);
        std::thread::scope(|s| {
            s.spawn(|| (0..INCREMENTS).for_each(|_| increment(a)));
            s.spawn(|| (0..INCREMENTS).for_each(|_| increment(b)));
        });
        assert_eq!(counter(a), before + 2 * INCREMENTS);
        assert_eq!(counter(b), before + 2 * INCREMENTS);
    }
}

/// A database file in the temporary directory, deleted (with its WAL and
/// shared-memory files) when dropped.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new(name: &str) -> TempDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "kinseal-client-store-{name}-{}-{}-{nanos}.db",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let db = TempDb { path };
        db.clean();
        db
    }

    fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path).unwrap()
    }

    fn clean(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.clean();
    }
}

/// A store under test and what must outlive it (fields drop in order).
struct Backend<S> {
    store: S,
    _file: Option<TempDb>,
}

fn memory() -> Backend<MemoryStore> {
    Backend {
        store: MemoryStore::new(),
        _file: None,
    }
}

fn sqlite_file(name: &str) -> Backend<SqliteStore> {
    let file = TempDb::new(name);
    Backend {
        store: file.open(),
        _file: Some(file),
    }
}

fn sqlite_in_memory() -> Backend<SqliteStore> {
    Backend {
        store: SqliteStore::open_in_memory().unwrap(),
        _file: None,
    }
}

/// The suite, as one test per check, for one backend.
macro_rules! suite {
    ($backend:ident $(, $name:literal)?) => {
        mod $backend {
            use super::*;

            #[test]
            fn reads_see_own_writes() {
                checks::reads_see_own_writes(&super::$backend($($name)?).store);
            }

            #[test]
            fn drop_rolls_back_every_write() {
                checks::drop_rolls_back_every_write(&super::$backend($($name)?).store);
            }

            #[test]
            fn ids_ascending_and_addresses_whole() {
                checks::ids_ascending_and_addresses_whole(&super::$backend($($name)?).store);
            }

            #[test]
            fn removal_says_whether_there_was_a_record() {
                checks::removal_says_whether_there_was_a_record(
                    &super::$backend($($name)?).store,
                );
            }

            #[test]
            fn two_threads_one_handle_lose_no_update() {
                let backend = super::$backend($($name)?);
                checks::no_lost_update(&backend.store, &backend.store);
            }
        }
    };
}

suite!(memory);
suite!(sqlite_file, "suite");
suite!(sqlite_in_memory);

#[test]
fn memory_store_shared_through_arc_loses_no_update() {
    let store = std::sync::Arc::new(MemoryStore::new());
    checks::no_lost_update(&store, &store.clone());
}

#[test]
fn sqlite_two_handles_on_one_file_lose_no_update() {
    let file = TempDb::new("two-handles");
    let (a, b) = (file.open(), file.open());
    checks::no_lost_update(&a, &b);
    drop((a, b));
    assert_eq!(checks::counter(&file.open()), 2 * INCREMENTS);
}

#[test]
fn sqlite_commits_survive_reopening_and_rollbacks_do_not() {
    let file = TempDb::new("reopen");
    let committed = {
        let store = file.open();
        let mut t = store.transaction().unwrap();
        populate(&mut t, b"kept:");
        t.commit().unwrap();
        let committed = snapshot_of(&store);
        let mut t = store.transaction().unwrap();
        churn(&mut t);
        drop(t);
        committed
    };
    let store = file.open();
    assert_eq!(snapshot_of(&store), committed);
    // And again after more committed changes, through a second handle that
    // was open all along.
    let other = file.open();
    let mut t = store.transaction().unwrap();
    churn(&mut t);
    t.commit().unwrap();
    let changed = snapshot_of(&other);
    assert_ne!(changed, committed);
    drop((store, other));
    assert_eq!(snapshot_of(&file.open()), changed);
}

#[test]
fn sqlite_store_opened_by_several_threads_at_once() {
    let file = TempDb::new("racing-open");
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| file.open())).collect();
        let stores: Vec<SqliteStore> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        checks::increment(&stores[0]);
        for store in &stores {
            assert_eq!(checks::counter(store), 1);
        }
    });
}

#[test]
fn sqlite_refuses_a_file_that_is_not_a_database() {
    let file = TempDb::new("garbage");
    std::fs::write(&file.path, [0x5a; 4096]).unwrap();
    assert_eq!(
        SqliteStore::open(&file.path).unwrap_err(),
        StorageError::Corrupt
    );
}

#[test]
fn debug_output_shows_no_records() {
    let backend = sqlite_in_memory();
    let mut t = backend.store.transaction().unwrap();
    t.put_account(b"SECRET-ish record").unwrap();
    let shown = format!("{:?} {:?}", backend.store, t);
    assert_eq!(shown, "SqliteStore { .. } SqliteTransaction { .. }");
    let memory = MemoryStore::new();
    assert!(!format!("{memory:?}").contains("SECRET"));
}

#[test]
fn sqlite_checkpoint_empties_the_write_ahead_log() {
    let file = TempDb::new("checkpoint");
    let store = file.open();
    let mut t = store.transaction().unwrap();
    populate(&mut t, b"wal:");
    t.commit().unwrap();
    let mut t = store.transaction().unwrap();
    churn(&mut t);
    t.commit().unwrap();
    let wal = PathBuf::from(format!("{}-wal", file.path.display()));
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let kept = snapshot_of(&store);
    store.checkpoint().unwrap();
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    assert_eq!(snapshot_of(&store), kept);
    drop(store);
    assert_eq!(snapshot_of(&file.open()), kept);
}
