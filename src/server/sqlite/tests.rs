//! What the suite in `tests/server/` cannot reach through the public API:
//! reopening and migrating a database file, damaged records, the mapping
//! of engine errors, and racing to create one file.

use super::columns::{db, stored_time, time};
use super::schema::{KEY_TABLES, SCHEMA, SCHEMA_V2};
use super::*;
use crate::UserIdentityKeyPair;
use crate::server::{DeviceList, PreKeyUpload, VerifiedDeviceList};
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
    // Opened again, it is a current database: nothing to migrate.
    SqliteDirectory::open(&file.0).unwrap();
}

/// A user's first device list, and its successor.
fn two_lists() -> (UserAddress, VerifiedDeviceList, VerifiedDeviceList) {
    let mut rng = chacha20::ChaCha20Rng::from_seed([5; 32]);
    let user = UserIdentityKeyPair::generate(&mut rng);
    let device = IdentityKeyPair::generate(&mut rng);
    let address = UserAddress::new(b"app", b"user").unwrap();
    let v1 = DeviceList::first(&user, &address, 5, [(1, device.public_key(), 5)]).unwrap();
    let v2 = v1.next(&user, 6, [(2, device.public_key(), 6)]).unwrap();
    (address, v1, v2)
}

/// A version 2 database (no device lists) is migrated when opened: what it
/// holds stays, and it takes device lists from then on.
#[test]
fn a_version_2_database_is_migrated() {
    let file = TempFile::new("schema-v2");
    {
        let conn = Connection::open(&file.0).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch(SCHEMA_V2).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'device_lists'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }
    let address = {
        let dir = SqliteDirectory::open(&file.0).unwrap();
        provisioned(&dir)
    };
    let dir = SqliteDirectory::open(&file.0).unwrap();
    let version: i64 = dir
        .lock()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, i64::from(SQLITE_SCHEMA_VERSION));
    assert_eq!(dir.device(&address).unwrap().counts().one_time(), 2);
    let (user, v1, v2) = two_lists();
    dir.publish_device_list(&user, &v1.to_bytes()).unwrap();
    dir.publish_device_list(&user, &v2.to_bytes()).unwrap();
    assert_eq!(dir.device_list(&user).unwrap(), Some(v2.to_bytes()));
}

/// A damaged latest list is refused as a record, and nothing is stored; a
/// row whose version column disagrees with its list too.
#[test]
fn a_damaged_device_list_is_refused_and_nothing_is_stored() {
    let (user, v1, v2) = two_lists();
    let invalid = crate::Error::Storage(StorageError::InvalidRecord {
        table: "device_lists",
    });
    for damage in [
        "UPDATE device_lists SET encoding = x'00'",
        // The last byte of the signature flipped.
        "UPDATE device_lists SET encoding =
         CAST(substr(encoding, 1, length(encoding) - 1) || x'00' AS BLOB)",
        "UPDATE device_lists SET list_version = x'0000000000000002'",
        // The row claims another user than the list it holds.
        "UPDATE device_lists SET app_id = x'6170'",
    ] {
        let dir = SqliteDirectory::open_in_memory().unwrap();
        dir.publish_device_list(&user, &v1.to_bytes()).unwrap();
        dir.lock().unwrap().execute(damage, []).unwrap();
        let app: &[u8] = if damage.contains("app_id") {
            b"ap"
        } else {
            b"app"
        };
        let at = UserAddress::new(app, b"user").unwrap();
        let next = DeviceList::first(&other_user(), &at, 7, [(3, &device(), 7)]).unwrap();
        let list = if at == user { &v2 } else { &next };
        assert_eq!(
            dir.publish_device_list(&at, &list.to_bytes()).unwrap_err(),
            invalid,
            "{damage}"
        );
        assert_eq!(dir.device_lists_since(&at, 0).unwrap().len(), 1, "{damage}");
    }
}

fn other_user() -> UserIdentityKeyPair {
    UserIdentityKeyPair::generate(&mut chacha20::ChaCha20Rng::from_seed([6; 32]))
}

fn device() -> crate::IdentityKey {
    IdentityKeyPair::generate(&mut chacha20::ChaCha20Rng::from_seed([7; 32]))
        .public_key()
        .clone()
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
