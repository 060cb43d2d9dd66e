//! A prekey directory in SQLite (feature `sqlite`).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::directory::{DeviceInfo, HighestIds, PreKeyDirectory, Registration, TakenBundle};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::PreKeyRole;
use crate::error::{DirectoryError, StorageError};
use crate::keys::{IdentityKey, KemPreKey, OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::keys::{PreKeyCounts, VerifiedUpload};
use crate::limits::MAX_DEVICES_PER_USER;

/// How long, in milliseconds, a [`SqliteDirectory`] waits for another
/// connection's write transaction to finish before it gives up with
/// [`StorageError::Busy`]: 10 seconds.
///
/// Transactions here are short (one device's rows), so waiting means heavy
/// contention; 10 s rides out a burst without letting requests hang.
/// This is SQLite's lock wait, not a clock the directory reads.
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;

/// The schema version a [`SqliteDirectory`] writes into `PRAGMA
/// user_version` and accepts when it opens a database.
///
/// Version 2 added the `retired_identities` table. A version 1 database is
/// migrated when opened (the table is created, empty, in the transaction
/// that checks the version); any other version is refused with
/// [`StorageError::UnsupportedSchema`].
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub const SQLITE_SCHEMA_VERSION: u32 = 2;

/// One table per record kind. Ids and device ids are `u32`; times are `u64`
/// stored in SQLite's signed 64-bit integers bit for bit; keys and
/// signatures are BLOBs of their fixed lengths. The one-time tables are
/// keyed by (device, id), so the oldest key of a device is the first entry
/// of its range.
const SCHEMA: &str = "
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
const SCHEMA_V2: &str = "
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

/// The tables that hold a device's keys.
const KEY_TABLES: [&str; 4] = [
    "signed_prekeys",
    "last_resort_prekeys",
    "one_time_prekeys",
    "kem_prekeys",
];

/// A [`PreKeyDirectory`] stored in SQLite, through rusqlite with SQLite
/// bundled (no system library needed).
///
/// Every operation is one SQLite transaction; those that write begin with
/// `BEGIN IMMEDIATE`, which takes the database's write lock before reading
/// anything, so two connections can never both read the same oldest
/// one-time key and both hand it out. Taking a bundle deletes the one-time
/// keys it returns (`DELETE … RETURNING`) in the same transaction that reads
/// the rest of the bundle. This holds across connections and processes:
/// several servers may open the same database file.
///
/// A file database is put in WAL mode with `synchronous = FULL`: a bundle
/// is returned only after the deletion of its one-time keys is durable, so
/// a power loss cannot bring back a key that was handed out. Each
/// `SqliteDirectory` holds one connection behind a [`Mutex`]; open one per
/// thread (or per process) for parallel reads.
///
/// Failures are [`StorageError`]s; no rusqlite type leaves this module.
#[derive(Debug)]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub struct SqliteDirectory {
    conn: Mutex<Connection>,
}

impl SqliteDirectory {
    /// Opens (creating it if needed) a directory in the SQLite database at
    /// `path`.
    ///
    /// # Errors
    /// [`StorageError::UnsupportedSchema`] for a database of another schema
    /// version; other [`StorageError`]s if the file cannot be opened or
    /// initialized.
    pub fn open(path: impl AsRef<Path>) -> crate::Result<Self> {
        // A connection that loses the race to create the file is told busy
        // at once (see `open_retrying`); give up after the busy timeout.
        crate::sqlite_support::open_retrying(
            Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS),
            |e| *e == crate::Error::Storage(StorageError::Busy),
            || Self::open_once(path.as_ref()),
        )
    }

    fn open_once(path: &Path) -> crate::Result<Self> {
        let conn = Connection::open(path).map_err(db("open"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db("open"))?;
        Self::init(conn)
    }

    /// A directory in a private in-memory database, gone when dropped.
    ///
    /// # Errors
    /// A [`StorageError`] if SQLite cannot allocate it.
    pub fn open_in_memory() -> crate::Result<Self> {
        Self::init(Connection::open_in_memory().map_err(db("open"))?)
    }

    fn init(mut conn: Connection) -> crate::Result<Self> {
        conn.busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))
            .map_err(db("open"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db("open"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db("open"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("open"))?;
        let found: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db("open"))?;
        match u32::try_from(found) {
            Ok(0) => {
                tx.execute_batch(SCHEMA).map_err(db("open"))?;
                tx.execute_batch(SCHEMA_V2).map_err(db("open"))?;
                tx.pragma_update(None, "user_version", SQLITE_SCHEMA_VERSION)
                    .map_err(db("open"))?;
            }
            // Version 1 lacks only the retired identities; it forgot those
            // it replaced or removed, which cannot be recovered.
            Ok(1) => {
                tx.execute_batch(SCHEMA_V2).map_err(db("open"))?;
                tx.pragma_update(None, "user_version", SQLITE_SCHEMA_VERSION)
                    .map_err(db("open"))?;
            }
            Ok(SQLITE_SCHEMA_VERSION) => {}
            other => {
                return Err(StorageError::UnsupportedSchema {
                    expected: SQLITE_SCHEMA_VERSION,
                    found: other.unwrap_or(u32::MAX),
                }
                .into());
            }
        }
        tx.commit().map_err(db("open"))?;
        Ok(SqliteDirectory {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> crate::Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| StorageError::Poisoned.into())
    }

    /// Runs `f` in one transaction and commits it if `f` succeeds; rolls it
    /// back otherwise. `Immediate` for anything that writes.
    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>) -> crate::Result<T>,
    ) -> crate::Result<T> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(db("begin"))?;
        let out = f(&tx)?;
        tx.commit().map_err(db("commit"))?;
        Ok(out)
    }
}

/// A `devices` row.
struct DeviceRow {
    rowid: i64,
    identity: IdentityKey,
    highest: HighestIds,
}

fn find_device(tx: &Transaction<'_>, device: &DeviceAddress) -> crate::Result<Option<DeviceRow>> {
    let row = tx
        .query_row(
            "SELECT device, identity_key, highest_signed_id, highest_one_time_id, highest_kem_id
             FROM devices WHERE app_id = ?1 AND user_id = ?2 AND device_id = ?3",
            params![device.app_id(), device.user_id(), device.device_id()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(db("devices"))?;
    let Some((rowid, identity, signed, one_time, kem)) = row else {
        return Ok(None);
    };
    let id = |v: Option<i64>| v.map(|v| key_id(v, "devices")).transpose();
    Ok(Some(DeviceRow {
        rowid,
        identity: IdentityKey::from_bytes(&blob(identity, "devices")?)
            .map_err(|_| invalid("devices"))?,
        highest: HighestIds::new(id(signed)?, id(one_time)?, id(kem)?),
    }))
}

/// Keeps the highest ids of `row`'s identity, which is leaving `device`
/// (replaced or removed), unless it never had any accepted.
fn retire(tx: &Transaction<'_>, device: &DeviceAddress, row: &DeviceRow) -> crate::Result<()> {
    let h = row.highest;
    if h == HighestIds::default() {
        return Ok(());
    }
    tx.execute(
        "INSERT OR REPLACE INTO retired_identities (app_id, user_id, device_id, identity_key,
         highest_signed_id, highest_one_time_id, highest_kem_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            device.app_id(),
            device.user_id(),
            device.device_id(),
            &row.identity.as_bytes()[..],
            h.signed(),
            h.one_time(),
            h.kem()
        ],
    )
    .map_err(db("retired_identities"))?;
    Ok(())
}

/// Takes back the highest ids `identity` had at `device` before it was
/// replaced or removed (none if it never was registered there, or had no
/// ids accepted).
fn unretire(
    tx: &Transaction<'_>,
    device: &DeviceAddress,
    identity: &IdentityKey,
) -> crate::Result<HighestIds> {
    let row = tx
        .query_row(
            "DELETE FROM retired_identities WHERE app_id = ?1 AND user_id = ?2
             AND device_id = ?3 AND identity_key = ?4
             RETURNING highest_signed_id, highest_one_time_id, highest_kem_id",
            params![
                device.app_id(),
                device.user_id(),
                device.device_id(),
                &identity.as_bytes()[..]
            ],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(db("retired_identities"))?;
    let Some((signed, one_time, kem)) = row else {
        return Ok(HighestIds::default());
    };
    let id = |v: Option<i64>| v.map(|v| key_id(v, "retired_identities")).transpose();
    Ok(HighestIds::new(id(signed)?, id(one_time)?, id(kem)?))
}

fn known_device(tx: &Transaction<'_>, device: &DeviceAddress) -> crate::Result<DeviceRow> {
    find_device(tx, device)?.ok_or_else(|| DirectoryError::UnknownDevice.into())
}

fn counts(tx: &Transaction<'_>, rowid: i64) -> crate::Result<PreKeyCounts> {
    let count = |table: &'static str| -> crate::Result<usize> {
        let n: i64 = tx
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE device = ?1"),
                [rowid],
                |r| r.get(0),
            )
            .map_err(db(table))?;
        usize::try_from(n).map_err(|_| invalid(table))
    };
    Ok(PreKeyCounts::new(
        count("one_time_prekeys")?,
        count("kem_prekeys")?,
    ))
}

fn info(
    tx: &Transaction<'_>,
    address: &DeviceAddress,
    row: DeviceRow,
) -> crate::Result<DeviceInfo> {
    let signed = tx
        .query_row(
            "SELECT key_id, created_at FROM signed_prekeys WHERE device = ?1",
            [row.rowid],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(db("signed_prekeys"))?;
    let last_resort = tx
        .query_row(
            "SELECT key_id FROM last_resort_prekeys WHERE device = ?1",
            [row.rowid],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(db("last_resort_prekeys"))?;
    let counts = counts(tx, row.rowid)?;
    let signed_prekey = signed
        .map(|(id, at)| Ok::<_, crate::Error>((key_id(id, "signed_prekeys")?, time(at))))
        .transpose()?;
    let last_resort_id = last_resort
        .map(|id| key_id(id, "last_resort_prekeys"))
        .transpose()?;
    Ok(DeviceInfo::new(
        address.clone(),
        row.identity,
        signed_prekey,
        last_resort_id,
        counts,
    ))
}

/// The columns of a signed prekey or KEM prekey row, as read:
/// id, created_at, public, signature.
type KeyColumns = (i64, i64, Vec<u8>, Vec<u8>);

fn key_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyColumns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn kem_prekey(c: KeyColumns, last_resort: bool, table: &'static str) -> crate::Result<KemPreKey> {
    let (id, created_at, public, signature) = c;
    let public = public
        .into_boxed_slice()
        .try_into()
        .map_err(|_| invalid(table))?;
    KemPreKey::from_boxed(
        key_id(id, table)?,
        last_resort,
        time(created_at),
        public,
        blob(signature, table)?,
    )
    .map_err(|_| invalid(table))
}

fn insert_kem(
    tx: &Transaction<'_>,
    sql: &str,
    rowid: i64,
    k: &KemPreKey,
) -> rusqlite::Result<usize> {
    tx.execute(
        sql,
        params![
            rowid,
            k.id(),
            stored_time(k.created_at()),
            &k.public_key()[..],
            &k.signature()[..]
        ],
    )
}

impl PreKeyDirectory for SqliteDirectory {
    fn register(
        &self,
        device: &DeviceAddress,
        identity: &IdentityKey,
    ) -> crate::Result<Registration> {
        self.transaction(TransactionBehavior::Immediate, |tx| {
            if let Some(row) = find_device(tx, device)? {
                if row.identity == *identity {
                    return Ok(Registration::Unchanged);
                }
                for table in KEY_TABLES {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE device = ?1"),
                        [row.rowid],
                    )
                    .map_err(db(table))?;
                }
                retire(tx, device, &row)?;
                let h = unretire(tx, device, identity)?;
                tx.execute(
                    "UPDATE devices SET identity_key = ?1, highest_signed_id = ?2,
                     highest_one_time_id = ?3, highest_kem_id = ?4 WHERE device = ?5",
                    params![
                        &identity.as_bytes()[..],
                        h.signed(),
                        h.one_time(),
                        h.kem(),
                        row.rowid
                    ],
                )
                .map_err(db("devices"))?;
                return Ok(Registration::Replaced);
            }
            let count: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM devices WHERE app_id = ?1 AND user_id = ?2",
                    params![device.app_id(), device.user_id()],
                    |r| r.get(0),
                )
                .map_err(db("devices"))?;
            let count = usize::try_from(count).map_err(|_| invalid("devices"))?;
            if count >= MAX_DEVICES_PER_USER {
                return Err(DirectoryError::TooManyDevices {
                    max: MAX_DEVICES_PER_USER,
                    found: count + 1,
                }
                .into());
            }
            let h = unretire(tx, device, identity)?;
            tx.execute(
                "INSERT INTO devices (app_id, user_id, device_id, identity_key,
                 highest_signed_id, highest_one_time_id, highest_kem_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    device.app_id(),
                    device.user_id(),
                    device.device_id(),
                    &identity.as_bytes()[..],
                    h.signed(),
                    h.one_time(),
                    h.kem()
                ],
            )
            .map_err(db("devices"))?;
            Ok(Registration::New)
        })
    }

    fn remove(&self, device: &DeviceAddress) -> crate::Result<bool> {
        self.transaction(TransactionBehavior::Immediate, |tx| {
            let Some(row) = find_device(tx, device)? else {
                return Ok(false);
            };
            for table in KEY_TABLES {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE device = ?1"),
                    [row.rowid],
                )
                .map_err(db(table))?;
            }
            retire(tx, device, &row)?;
            tx.execute("DELETE FROM devices WHERE device = ?1", [row.rowid])
                .map_err(db("devices"))?;
            Ok(true)
        })
    }

    fn store(
        &self,
        device: &DeviceAddress,
        upload: &VerifiedUpload,
    ) -> crate::Result<PreKeyCounts> {
        self.transaction(TransactionBehavior::Immediate, |tx| {
            let row = known_device(tx, device)?;
            let (highest, after) =
                upload.check_store(&row.identity, row.highest, counts(tx, row.rowid)?)?;
            let upload = upload.upload();
            if let Some(k) = upload.signed_prekey() {
                tx.execute(
                    "INSERT OR REPLACE INTO signed_prekeys
                     (device, key_id, created_at, public, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row.rowid,
                        k.id(),
                        stored_time(k.created_at()),
                        &k.public_key()[..],
                        &k.signature()[..]
                    ],
                )
                .map_err(db("signed_prekeys"))?;
            }
            if let Some(k) = upload.last_resort_prekey() {
                insert_kem(
                    tx,
                    "INSERT OR REPLACE INTO last_resort_prekeys
                     (device, key_id, created_at, public, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                    row.rowid,
                    k,
                )
                .map_err(db("last_resort_prekeys"))?;
            }
            {
                let mut insert = tx
                    .prepare(
                        "INSERT INTO one_time_prekeys (device, key_id, public) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(db("one_time_prekeys"))?;
                for k in upload.one_time_prekeys() {
                    insert
                        .execute(params![row.rowid, k.id(), &k.public_key()[..]])
                        .map_err(db("one_time_prekeys"))?;
                }
            }
            for k in upload.kem_prekeys() {
                insert_kem(
                    tx,
                    "INSERT INTO kem_prekeys (device, key_id, created_at, public, signature)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    row.rowid,
                    k,
                )
                .map_err(db("kem_prekeys"))?;
            }
            tx.execute(
                "UPDATE devices SET highest_signed_id = ?1, highest_one_time_id = ?2,
                 highest_kem_id = ?3 WHERE device = ?4",
                params![
                    highest.signed(),
                    highest.one_time(),
                    highest.kem(),
                    row.rowid
                ],
            )
            .map_err(db("devices"))?;
            Ok(after)
        })
    }

    fn take_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle> {
        self.transaction(TransactionBehavior::Immediate, |tx| {
            let row = known_device(tx, device)?;
            let signed = tx
                .query_row(
                    "SELECT key_id, created_at, public, signature FROM signed_prekeys
                     WHERE device = ?1",
                    [row.rowid],
                    key_columns,
                )
                .optional()
                .map_err(db("signed_prekeys"))?
                .ok_or(DirectoryError::NotReady {
                    missing: PreKeyRole::Signed,
                })?;
            let (id, created_at, public, signature) = signed;
            let signed_prekey = SignedPreKey::from_parts(
                key_id(id, "signed_prekeys")?,
                time(created_at),
                &blob(public, "signed_prekeys")?,
                &blob(signature, "signed_prekeys")?,
            )
            .map_err(|_| invalid("signed_prekeys"))?;
            // The oldest one-time KEM key, taken; else the last-resort key.
            // If neither exists the error rolls the transaction back, so
            // nothing is taken.
            let kem_prekey = match tx
                .query_row(
                    "DELETE FROM kem_prekeys WHERE device = ?1 AND key_id =
                     (SELECT MIN(key_id) FROM kem_prekeys WHERE device = ?1)
                     RETURNING key_id, created_at, public, signature",
                    [row.rowid],
                    key_columns,
                )
                .optional()
                .map_err(db("kem_prekeys"))?
            {
                Some(c) => kem_prekey(c, false, "kem_prekeys")?,
                None => {
                    let c = tx
                        .query_row(
                            "SELECT key_id, created_at, public, signature
                             FROM last_resort_prekeys WHERE device = ?1",
                            [row.rowid],
                            key_columns,
                        )
                        .optional()
                        .map_err(db("last_resort_prekeys"))?
                        .ok_or(DirectoryError::NotReady {
                            missing: PreKeyRole::Kem,
                        })?;
                    kem_prekey(c, true, "last_resort_prekeys")?
                }
            };
            let one_time_prekey = tx
                .query_row(
                    "DELETE FROM one_time_prekeys WHERE device = ?1 AND key_id =
                     (SELECT MIN(key_id) FROM one_time_prekeys WHERE device = ?1)
                     RETURNING key_id, public",
                    [row.rowid],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )
                .optional()
                .map_err(db("one_time_prekeys"))?
                .map(|(id, public)| {
                    OneTimePreKey::from_parts(
                        key_id(id, "one_time_prekeys")?,
                        &blob(public, "one_time_prekeys")?,
                    )
                    .map_err(|_| invalid("one_time_prekeys"))
                })
                .transpose()?;
            let remaining = counts(tx, row.rowid)?;
            Ok(TakenBundle::new(
                PreKeyBundle::new(row.identity, signed_prekey, one_time_prekey, kem_prekey),
                remaining,
            ))
        })
    }

    fn device(&self, device: &DeviceAddress) -> crate::Result<DeviceInfo> {
        self.transaction(TransactionBehavior::Deferred, |tx| {
            let row = known_device(tx, device)?;
            info(tx, device, row)
        })
    }

    fn devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>> {
        self.transaction(TransactionBehavior::Deferred, |tx| {
            let ids = {
                let mut stmt = tx
                    .prepare(
                        "SELECT device_id FROM devices WHERE app_id = ?1 AND user_id = ?2
                         ORDER BY device_id",
                    )
                    .map_err(db("devices"))?;
                let rows = stmt
                    .query_map(params![user.app_id(), user.user_id()], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_err(db("devices"))?;
                rows.collect::<rusqlite::Result<Vec<i64>>>()
                    .map_err(db("devices"))?
            };
            ids.into_iter()
                .map(|id| {
                    let address = user.device(key_id(id, "devices")?);
                    let row = known_device(tx, &address)?;
                    info(tx, &address, row)
                })
                .collect()
        })
    }
}

/// Maps a rusqlite error (see `crate::sqlite_support`).
fn db(table: &'static str) -> impl Fn(rusqlite::Error) -> crate::Error {
    move |e| crate::sqlite_support::storage_error(table, &e).into()
}

fn invalid(table: &'static str) -> crate::Error {
    StorageError::InvalidRecord { table }.into()
}

fn blob<const N: usize>(bytes: Vec<u8>, table: &'static str) -> crate::Result<[u8; N]> {
    bytes.try_into().map_err(|_| invalid(table))
}

fn key_id(value: i64, table: &'static str) -> crate::Result<u32> {
    u32::try_from(value).map_err(|_| invalid(table))
}

/// A `u64` time as SQLite stores it: the same 64 bits, as a signed integer.
fn stored_time(t: u64) -> i64 {
    i64::from_be_bytes(t.to_be_bytes())
}

/// The inverse of [`stored_time`].
fn time(stored: i64) -> u64 {
    u64::from_be_bytes(stored.to_be_bytes())
}

#[cfg(test)]
mod tests {
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
}
