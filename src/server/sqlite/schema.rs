//! Step: the schema. The tables a new database is created with, the
//! version in `PRAGMA user_version`, and the migrations from version 1
//! (without `retired_identities`) and version 2 (without `device_lists`)
//! to version 3.

use rusqlite::{Connection, TransactionBehavior};

use super::columns::db;
use crate::error::StorageError;

/// The schema version a [`SqliteDirectory`] writes into `PRAGMA
/// user_version` and accepts when it opens a database.
///
/// Version 2 added the `retired_identities` table, version 3 the
/// `device_lists` table. A version 1 or 2 database is migrated when opened
/// (the tables it lacks are created, empty, in the transaction that checks
/// the version); any other version is refused with
/// [`StorageError::UnsupportedSchema`].
///
/// [`SqliteDirectory`]: super::SqliteDirectory
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub const SQLITE_SCHEMA_VERSION: u32 = 3;

/// One table per record kind. Ids and device ids are `u32`; times are `u64`
/// stored in SQLite's signed 64-bit integers bit for bit; keys and
/// signatures are BLOBs of their fixed lengths. The one-time tables are
/// keyed by (device, id), so the oldest key of a device is the first entry
/// of its range.
pub(super) const SCHEMA: &str = "
CREATE TABLE devices (
    device              INTEGER PRIMARY KEY,
    app_id              BLOB NOT NULL,
    user_id             BLOB NOT NULL,
    device_id           INTEGER NOT NULL,
    identity_key        BLOB NOT NULL,
    highest_signed_id   INTEGER,
    highest_one_time_id INTEGER,
    highest_kem_id      INTEGER,
    UNIQUE (app_id, user_id, device_id)
);
CREATE TABLE signed_prekeys (
    device      INTEGER PRIMARY KEY REFERENCES devices (device) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    public      BLOB NOT NULL,
    signature   BLOB NOT NULL
);
CREATE TABLE last_resort_prekeys (
    device      INTEGER PRIMARY KEY REFERENCES devices (device) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    public      BLOB NOT NULL,
    signature   BLOB NOT NULL
);
CREATE TABLE one_time_prekeys (
    device      INTEGER NOT NULL REFERENCES devices (device) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL,
    public      BLOB NOT NULL,
    PRIMARY KEY (device, key_id)
) WITHOUT ROWID;
CREATE TABLE kem_prekeys (
    device      INTEGER NOT NULL REFERENCES devices (device) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    public      BLOB NOT NULL,
    signature   BLOB NOT NULL,
    PRIMARY KEY (device, key_id)
) WITHOUT ROWID;
";

/// What version 2 added to version 1: the highest ids of identities no
/// longer registered at an address (replaced or removed), so that they only
/// go up if the identity is registered there again. A row is written only
/// for an identity that had ids accepted, and taken back (deleted) when the
/// identity is registered at the address again.
pub(super) const SCHEMA_V2: &str = "
CREATE TABLE retired_identities (
    app_id              BLOB NOT NULL,
    user_id             BLOB NOT NULL,
    device_id           INTEGER NOT NULL,
    identity_key        BLOB NOT NULL,
    highest_signed_id   INTEGER,
    highest_one_time_id INTEGER,
    highest_kem_id      INTEGER,
    PRIMARY KEY (app_id, user_id, device_id, identity_key)
) WITHOUT ROWID;
";

/// What version 3 added to version 2: each user's device lists, at most
/// `MAX_DEVICE_LIST_HISTORY` per user, as published (`encoding`, byte for
/// byte). `list_version` is the list's version as 8 big-endian bytes, so
/// that SQLite's BLOB order (bytewise) is the numeric order of every `u64`,
/// which a signed INTEGER is not.
const SCHEMA_V3: &str = "
CREATE TABLE device_lists (
    app_id       BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    list_version BLOB NOT NULL,
    encoding     BLOB NOT NULL,
    PRIMARY KEY (app_id, user_id, list_version)
) WITHOUT ROWID;
";

/// The tables that hold a device's keys.
pub(super) const KEY_TABLES: [&str; 4] = [
    "signed_prekeys",
    "last_resort_prekeys",
    "one_time_prekeys",
    "kem_prekeys",
];

/// Brings a freshly opened connection's database to
/// [`SQLITE_SCHEMA_VERSION`] in one `BEGIN IMMEDIATE` transaction: creates
/// the schema in a new database (version 0), migrates versions 1 and 2,
/// accepts the current version as it is and refuses any other.
pub(super) fn prepare(conn: &mut Connection) -> crate::Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db("open"))?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db("open"))?;
    // What each older version lacks. Version 1 lacks the retired
    // identities too; it forgot those it replaced or removed, which cannot
    // be recovered. Version 2 held no device lists.
    let missing: &[&str] = match u32::try_from(found) {
        Ok(0) => &[SCHEMA, SCHEMA_V2, SCHEMA_V3],
        Ok(1) => &[SCHEMA_V2, SCHEMA_V3],
        Ok(2) => &[SCHEMA_V3],
        Ok(SQLITE_SCHEMA_VERSION) => &[],
        other => {
            return Err(StorageError::UnsupportedSchema {
                expected: SQLITE_SCHEMA_VERSION,
                found: other.unwrap_or(u32::MAX),
            }
            .into());
        }
    };
    if !missing.is_empty() {
        for sql in missing {
            tx.execute_batch(sql).map_err(db("open"))?;
        }
        tx.pragma_update(None, "user_version", SQLITE_SCHEMA_VERSION)
            .map_err(db("open"))?;
    }
    tx.commit().map_err(db("open"))?;
    Ok(())
}
