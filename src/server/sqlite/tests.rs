//! What the suite in `tests/server/` cannot reach through the public API:
//! reopening and migrating a database file, damaged records, the mapping
//! of engine errors, and racing to create one file.

use super::columns::{db, stored_time, time};
use super::schema::{KEY_TABLES, SCHEMA};
use super::*;
use crate::server::PreKeyUpload;
use crate::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, SignedPreKeyPair};
use rand_core::SeedableRng;

use crate::sqlite_support::TempFile;

/// A registered device with a signed prekey, a last-resort key and two
/// one-time X25519 keys.
fn provisioned(dir: &SqliteDirectory) -> DeviceAddress {
    let mut rng = chacha20::ChaCha20Rng::from_seed([3; 32]);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, 5);
    let lr = KemPreKeyPair::generate(&mut rng, &identity, 1, true, 5);
    let opks = OneTimePreKeyPair::generate_batch(&mut rng, 1, 2).unwrap();
    let upload = PreKeyUpload::builder(&identity)
        .signed_prekey(spk.public())
        .last_resort_prekey(lr.public())
        .one_time_prekeys(opks.iter().map(OneTimePreKeyPair::public))
        .to_bytes()
        .unwrap();
    let address = DeviceAddress::new(b"app", b"user", 1).unwrap();
    dir.register(&address, identity.public_key()).unwrap();
    dir.upload(&address, &upload).unwrap();
    address
}

#[test]
fn reopening_keeps_everything() {
    let file = TempFile::new("reopen");
    let address = {
        let dir = SqliteDirectory::open(&file.0).unwrap();
        provisioned(&dir)
    };
    let dir = SqliteDirectory::open(&file.0).unwrap();
    assert_eq!(dir.device(&address).unwrap().counts().one_time(), 2);
    let taken = dir.take_bundle(&address).unwrap();
    assert_eq!(taken.prekey_ids().one_time_prekey_id(), Some(1));
}

#[test]
fn another_schema_version_is_refused() {
    let file = TempFile::new("schema");
    drop(SqliteDirectory::open(&file.0).unwrap());
    Connection::open(&file.0)
        .unwrap()
        .pragma_update(None, "user_version", 7)
        .unwrap();
    assert_eq!(
        SqliteDirectory::open(&file.0).unwrap_err(),
        crate::Error::Storage(StorageError::UnsupportedSchema {
            expected: SQLITE_SCHEMA_VERSION,
            found: 7
        })
    );
}

/// A version 1 database is migrated when opened: what it holds stays,
/// and from then on a replaced identity keeps its ids.
#[test]
fn a_version_1_database_is_migrated() {
    let file = TempFile::new("schema-v1");
    {
        let conn = Connection::open(&file.0).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let address = {
        // Fill it as version 1 would have: no retired identities.
        let dir = SqliteDirectory::open_in_memory().unwrap();
        let address = provisioned(&dir);
        let conn = dir.lock().unwrap();
        conn.execute("ATTACH DATABASE ?1 AS v1", [file.0.to_str().unwrap()])
            .unwrap();
        for table in ["devices"].into_iter().chain(KEY_TABLES) {
            conn.execute(&format!("INSERT INTO v1.{table} SELECT * FROM {table}"), [])
                .unwrap();
        }
        address
    };
    let dir = SqliteDirectory::open(&file.0).unwrap();
    let version: i64 = dir
        .lock()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, i64::from(SQLITE_SCHEMA_VERSION));
    let info = dir.device(&address).unwrap();
    assert_eq!(info.counts().one_time(), 2);
    assert_eq!(info.signed_prekey_id(), Some(1));
    // Replaced and back: the identity's ids were kept.
    let other = IdentityKeyPair::generate(&mut chacha20::ChaCha20Rng::from_seed([9; 32]));
    dir.register(&address, other.public_key()).unwrap();
    assert!(dir.remove(&address).unwrap());
    dir.register(&address, info.identity_key()).unwrap();
    let back = dir.device(&address).unwrap();
    assert_eq!(
        (back.signed_prekey_id(), back.counts().one_time()),
        (None, 0)
    );
    let mut rng = chacha20::ChaCha20Rng::from_seed([3; 32]);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, 5);
    let replay = PreKeyUpload::builder(&identity)
        .signed_prekey(spk.public())
        .to_bytes()
        .unwrap();
    assert!(matches!(
        dir.upload(&address, &replay).unwrap_err(),
        crate::Error::Upload(crate::error::UploadError::StaleId { .. })
    ));
    drop(dir);
    // Opened again, it is a version 2 database: nothing to migrate.
    SqliteDirectory::open(&file.0).unwrap();
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt() {
    let file = TempFile::new("garbage");
    std::fs::write(&file.0, [0x5a; 4096]).unwrap();
    assert_eq!(
        SqliteDirectory::open(&file.0).unwrap_err(),
        crate::Error::Storage(StorageError::Corrupt)
    );
}

#[test]
fn a_damaged_record_is_refused_and_nothing_is_taken() {
    let dir = SqliteDirectory::open_in_memory().unwrap();
    let address = provisioned(&dir);
    dir.lock()
        .unwrap()
        .execute(
            "UPDATE one_time_prekeys SET public = x'00' WHERE key_id = 1",
            [],
        )
        .unwrap();
    assert_eq!(
        dir.take_bundle(&address).unwrap_err(),
        crate::Error::Storage(StorageError::InvalidRecord {
            table: "one_time_prekeys"
        })
    );
    assert_eq!(dir.device(&address).unwrap().counts().one_time(), 2);
    // A key the device never signed for a time it never gave: the store
    // does not check signatures again, but it does check keys.
    dir.lock()
        .unwrap()
        .execute("UPDATE signed_prekeys SET public = ?1", [&[0xffu8; 32][..]])
        .unwrap();
    assert_eq!(
        dir.take_bundle(&address).unwrap_err(),
        crate::Error::Storage(StorageError::InvalidRecord {
            table: "signed_prekeys"
        })
    );
}

#[test]
fn engine_errors_map_to_kinds() {
    let engine = |code| {
        db("t")(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    };
    let storage = |e| crate::Error::Storage(e);
    assert_eq!(engine(5), storage(StorageError::Busy)); // SQLITE_BUSY
    assert_eq!(engine(6), storage(StorageError::Busy)); // SQLITE_LOCKED
    assert_eq!(engine(13), storage(StorageError::Full)); // SQLITE_FULL
    assert_eq!(engine(10), storage(StorageError::Io)); // SQLITE_IOERR
    assert_eq!(engine(11), storage(StorageError::Corrupt)); // SQLITE_CORRUPT
    assert_eq!(
        engine(2067), // SQLITE_CONSTRAINT_UNIQUE
        storage(StorageError::Backend { code: 2067 })
    );
    assert_eq!(
        db("t")(rusqlite::Error::QueryReturnedNoRows),
        storage(StorageError::Backend { code: -1 })
    );
    assert_eq!(time(stored_time(u64::MAX)), u64::MAX);
    assert_eq!(stored_time(u64::MAX), -1);
}

/// Several connections creating the same file at once all open it
/// (the losers of the race to switch it to WAL open again).
#[test]
fn several_threads_create_one_file_at_once() {
    for round in 0..10 {
        let file = TempFile::new(&format!("concurrent-open-{round}"));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| SqliteDirectory::open(&file.0).unwrap());
            }
        });
    }
}
