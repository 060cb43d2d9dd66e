//! What the conformance suite (`tests/client/store.rs`) cannot reach
//! through the public API: the schema, damaged rows, the pragmas, the
//! write lock and error mapping.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::client::RecordKey;

use crate::sqlite_support::TempFile;

fn raw(store: &SqliteStore) -> MutexGuard<'_, Connection> {
    store.conn.lock().unwrap()
}

#[test]
fn tables_are_named_as_record_keys_name_them() {
    let store = SqliteStore::open_in_memory().unwrap();
    let a = DeviceAddress::new(b"app", b"user", 1).unwrap();
    let keys = [
        RecordKey::Account,
        RecordKey::PeerIdentity(&a),
        RecordKey::SignedPreKey(1),
        RecordKey::OneTimePreKey(1),
        RecordKey::KemPreKey(1),
        RecordKey::LastResortKemPreKey(1),
        RecordKey::Sessions(&a),
    ];
    let conn = raw(&store);
    for key in keys {
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [key.table()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{}", key.table());
    }
    let tables = [
        PEER_IDENTITIES.table,
        SESSIONS.table,
        SIGNED_PREKEYS.table,
        ONE_TIME_PREKEYS.table,
        KEM_PREKEYS.table,
        LAST_RESORT_KEM_PREKEYS.table,
    ];
    assert_eq!(
        tables,
        [
            keys[1].table(),
            keys[6].table(),
            keys[2].table(),
            keys[3].table(),
            keys[4].table(),
            keys[5].table()
        ]
    );
}

#[test]
fn a_file_store_is_wal_full_sync_and_secure_delete() {
    let file = TempFile::new("pragmas");
    let store = SqliteStore::open(&file.0).unwrap();
    let conn = raw(&store);
    let text = |p: &str| -> String {
        conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
            .unwrap()
    };
    let int = |p: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(text("journal_mode"), "wal");
    assert_eq!(int("synchronous"), 2); // FULL
    assert_eq!(int("secure_delete"), 1);
    assert_eq!(
        int("busy_timeout"),
        i64::try_from(SqliteStore::BUSY_TIMEOUT.as_millis()).unwrap()
    );
}

#[test]
fn another_schema_version_is_refused() {
    let file = TempFile::new("schema");
    drop(SqliteStore::open(&file.0).unwrap());
    let set = |v: Option<i64>| {
        let conn = Connection::open(&file.0).unwrap();
        match v {
            Some(v) => conn.execute("UPDATE client_schema SET version = ?1", [v]),
            None => conn.execute("DELETE FROM client_schema", []),
        }
        .unwrap();
    };
    // Version 1 (handshakes keyed by signed prekey) and version 2 (no
    // user records; its account record holds no user key) are not
    // migrated; version 5 is from a later build.
    for found in [1, 2, 5] {
        set(Some(i64::from(found)));
        assert_eq!(
            SqliteStore::open(&file.0).unwrap_err(),
            StorageError::UnsupportedSchema {
                expected: SqliteStore::SCHEMA_VERSION,
                found
            }
        );
    }
    set(Some(-1));
    assert_eq!(
        SqliteStore::open(&file.0).unwrap_err(),
        StorageError::UnsupportedSchema {
            expected: 4,
            found: u32::MAX
        }
    );
    set(None);
    assert_eq!(
        SqliteStore::open(&file.0).unwrap_err(),
        StorageError::InvalidRecord {
            table: "client_schema"
        }
    );
    let conn = Connection::open(&file.0).unwrap();
    conn.execute(
        "INSERT INTO client_schema (slot, version) VALUES (0, ?1)",
        [SqliteStore::SCHEMA_VERSION],
    )
    .unwrap();
    drop(conn);
    assert!(SqliteStore::open(&file.0).is_ok());
}

#[test]
fn damaged_rows_are_invalid_records_of_their_table() {
    let store = SqliteStore::open_in_memory().unwrap();
    let damage = |sql: &str| {
        raw(&store).execute(sql, []).unwrap();
    };
    let invalid = |table| StorageError::InvalidRecord { table };

    damage("INSERT INTO sessions VALUES (x'61', x'62', -1, x'00')");
    assert_eq!(
        store
            .transaction()
            .unwrap()
            .session_addresses()
            .unwrap_err(),
        invalid("sessions")
    );
    damage("UPDATE sessions SET device_id = 4294967296");
    assert_eq!(
        store
            .transaction()
            .unwrap()
            .session_addresses()
            .unwrap_err(),
        invalid("sessions")
    );
    damage("UPDATE sessions SET device_id = 4294967295, app_id = x''");
    assert_eq!(
        store
            .transaction()
            .unwrap()
            .session_addresses()
            .unwrap_err(),
        invalid("sessions")
    );
    damage("UPDATE sessions SET app_id = 'text'");
    assert_eq!(
        store
            .transaction()
            .unwrap()
            .session_addresses()
            .unwrap_err(),
        invalid("sessions")
    );

    damage("INSERT INTO peer_identities VALUES (x'61', x'62', 7, 'not a blob')");
    let a = DeviceAddress::new(b"a", b"b", 7).unwrap();
    assert_eq!(
        store.transaction().unwrap().peer_identity(&a).unwrap_err(),
        invalid("peer_identities")
    );
    assert_eq!(
        store.transaction().unwrap().peer_identity_addresses(),
        Ok(vec![a])
    );

    damage("INSERT INTO kem_prekeys VALUES (-5, x'00')");
    assert_eq!(
        store.transaction().unwrap().kem_prekey_ids().unwrap_err(),
        invalid("kem_prekeys")
    );
    damage("INSERT INTO account VALUES (0, 42)");
    assert_eq!(
        store.transaction().unwrap().account().unwrap_err(),
        invalid("account")
    );
}

#[test]
fn a_transaction_holds_the_write_lock_from_its_start() {
    let file = TempFile::new("lock");
    let store = SqliteStore::open(&file.0).unwrap();
    let other = Connection::open(&file.0).unwrap();
    other.busy_timeout(Duration::from_millis(0)).unwrap();
    let t = store.transaction().unwrap();
    // Nothing written yet, and still no other writer may start.
    assert_eq!(
        other.execute_batch("BEGIN IMMEDIATE").map_err(db("t")),
        Err(StorageError::Busy)
    );
    // Readers are not blocked (WAL).
    let n: i64 = other
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    t.commit().unwrap();
    other.execute_batch("BEGIN IMMEDIATE; ROLLBACK").unwrap();
}

#[test]
fn a_transaction_left_open_is_rolled_back_before_the_next() {
    let store = SqliteStore::open_in_memory().unwrap();
    raw(&store)
        .execute_batch("BEGIN; INSERT INTO account VALUES (0, x'01')")
        .unwrap();
    let mut t = store.transaction().unwrap();
    assert_eq!(t.account(), Ok(None));
    t.put_account(b"\x02").unwrap();
    t.commit().unwrap();
    assert_eq!(
        store.transaction().unwrap().account(),
        Ok(Some(b"\x02".to_vec()))
    );
    assert!(raw(&store).is_autocommit());
}

#[test]
fn a_panic_inside_a_transaction_rolls_it_back_and_the_store_goes_on() {
    let store = SqliteStore::open_in_memory().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut t = store.transaction().unwrap();
        t.put_account(b"lost").unwrap();
        std::panic::resume_unwind(Box::new("boom"));
    }));
    assert!(caught.is_err());
    assert!(store.conn.is_poisoned());
    assert_eq!(store.transaction().unwrap().account(), Ok(None));
}

#[test]
fn engine_errors_map_to_kinds() {
    let engine = |code| {
        db("t")(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    };
    assert_eq!(engine(5), StorageError::Busy); // SQLITE_BUSY
    assert_eq!(engine(6), StorageError::Busy); // SQLITE_LOCKED
    assert_eq!(engine(13), StorageError::Full); // SQLITE_FULL
    assert_eq!(engine(10), StorageError::Io); // SQLITE_IOERR
    assert_eq!(engine(14), StorageError::Io); // SQLITE_CANTOPEN
    assert_eq!(engine(11), StorageError::Corrupt); // SQLITE_CORRUPT
    assert_eq!(engine(26), StorageError::Corrupt); // SQLITE_NOTADB
    assert_eq!(
        engine(2067), // SQLITE_CONSTRAINT_UNIQUE
        StorageError::Backend { code: 2067 }
    );
    assert_eq!(
        db("t")(rusqlite::Error::QueryReturnedNoRows),
        StorageError::Backend { code: -1 }
    );
}

#[test]
fn a_version_3_store_gains_the_group_tables_and_keeps_its_records() {
    use crate::client::store::{GroupStore, IdentityStore};
    let file = TempFile::new("upgrade");
    {
        let store = SqliteStore::open(&file.0).unwrap();
        let mut txn = store.transaction().unwrap();
        txn.put_account(b"account record").unwrap();
        txn.commit().unwrap();
    }
    {
        // What a version 3 build left: no group tables.
        let conn = Connection::open(&file.0).unwrap();
        conn.execute_batch(
            "DROP TABLE groups; DROP TABLE group_sender_keys;
             UPDATE client_schema SET version = 3;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&file.0).unwrap();
    let group = crate::GroupId::from_bytes([7; 32]);
    let sender = crate::DeviceAddress::new(b"app", b"bob", 2).unwrap();
    {
        let mut txn = store.transaction().unwrap();
        assert_eq!(
            txn.account().unwrap().as_deref(),
            Some(&b"account record"[..])
        );
        assert_eq!(txn.group_ids().unwrap(), []);
        txn.put_group(&group, b"group").unwrap();
        txn.put_group_sender_keys(&group, &sender, b"keys").unwrap();
        txn.commit().unwrap();
    }
    drop(store);
    let conn = Connection::open(&file.0).unwrap();
    let version: i64 = conn
        .query_row("SELECT version FROM client_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    drop(conn);
    let store = SqliteStore::open(&file.0).unwrap();
    let mut txn = store.transaction().unwrap();
    assert_eq!(txn.group_ids().unwrap(), [group]);
    assert_eq!(
        txn.group_senders(&group).unwrap(),
        std::slice::from_ref(&sender)
    );
    assert!(txn.remove_group_sender_keys(&group, &sender).unwrap());
    assert!(txn.remove_group(&group).unwrap());
    assert!(!txn.remove_group(&group).unwrap());
}
