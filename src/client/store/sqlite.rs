//! A client store in SQLite (feature `sqlite`): one table per record kind,
//! one SQLite write transaction per store transaction.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Params, TransactionBehavior, params};

use super::{
    ClientStore, HandshakeLog, IdentityStore, KemPreKeyStore, LastResortKemPreKeyStore,
    OneTimePreKeyStore, SessionStore, SignedPreKeyStore, StoreResult, StoreTransaction,
};
use crate::StorageError;
use crate::address::{DeviceAddress, UserAddress};

/// The table holding the schema version row.
const VERSION_TABLE: &str = "client_schema";

/// How many prepared statements a store's connection keeps: 64, more than
/// the store has (about 30), so each is parsed once per connection.
const STATEMENT_CACHE: usize = 64;

/// The tables, named as [`RecordKey::table`](crate::client::RecordKey::table)
/// names them. Records are opaque BLOBs (sealed by the account); ids and
/// device ids are `u32` in SQLite integers; addresses are stored as their
/// three parts and rebuilt (and checked) with [`DeviceAddress::new`].
const SCHEMA: &str = "
CREATE TABLE client_schema (
    slot    INTEGER PRIMARY KEY CHECK (slot = 0),
    version INTEGER NOT NULL
);
CREATE TABLE account (
    slot    INTEGER PRIMARY KEY CHECK (slot = 0),
    record  BLOB NOT NULL
);
CREATE TABLE peer_identities (
    app_id    BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    device_id INTEGER NOT NULL,
    record    BLOB NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id)
);
CREATE TABLE peer_users (
    app_id    BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    record    BLOB NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE TABLE sessions (
    app_id    BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    device_id INTEGER NOT NULL,
    record    BLOB NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id)
);
CREATE TABLE signed_prekeys (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE one_time_prekeys (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE kem_prekeys (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE last_resort_kem_prekeys (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE handshakes (
    id              BLOB PRIMARY KEY,
    last_resort_id  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX handshakes_by_last_resort_key ON handshakes (last_resort_id);
";

/// The statements of a table keyed by a peer device's address.
struct AddressSql {
    table: &'static str,
    get: &'static str,
    put: &'static str,
    list: &'static str,
}

macro_rules! address_sql {
    ($table:literal) => {
        AddressSql {
            table: $table,
            get: concat!(
                "SELECT record FROM ",
                $table,
                " WHERE app_id = ?1 AND user_id = ?2 AND device_id = ?3"
            ),
            put: concat!(
                "INSERT INTO ",
                $table,
                " (app_id, user_id, device_id, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET record = excluded.record"
            ),
            list: concat!(
                "SELECT app_id, user_id, device_id FROM ",
                $table,
                " ORDER BY app_id, user_id, device_id"
            ),
        }
    };
}

const PEER_IDENTITIES: AddressSql = address_sql!("peer_identities");
const SESSIONS: AddressSql = address_sql!("sessions");
const REMOVE_SESSIONS: &str =
    "DELETE FROM sessions WHERE app_id = ?1 AND user_id = ?2 AND device_id = ?3";

/// The statements of a prekey table, keyed by id.
struct PreKeySql {
    table: &'static str,
    get: &'static str,
    put: &'static str,
    remove: &'static str,
    ids: &'static str,
}

macro_rules! prekey_sql {
    ($table:literal) => {
        PreKeySql {
            table: $table,
            get: concat!("SELECT record FROM ", $table, " WHERE id = ?1"),
            put: concat!(
                "INSERT INTO ",
                $table,
                " (id, record) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record"
            ),
            remove: concat!("DELETE FROM ", $table, " WHERE id = ?1"),
            ids: concat!("SELECT id FROM ", $table, " ORDER BY id"),
        }
    };
}

const SIGNED_PREKEYS: PreKeySql = prekey_sql!("signed_prekeys");
const ONE_TIME_PREKEYS: PreKeySql = prekey_sql!("one_time_prekeys");
const KEM_PREKEYS: PreKeySql = prekey_sql!("kem_prekeys");
const LAST_RESORT_KEM_PREKEYS: PreKeySql = prekey_sql!("last_resort_kem_prekeys");

/// A [`ClientStore`] in an SQLite database, through rusqlite with SQLite
/// bundled (no system library needed).
///
/// Every [`transaction`](ClientStore::transaction) is one SQLite
/// transaction begun with `BEGIN IMMEDIATE`, which takes the database's
/// write lock before anything is read. Two transactions therefore never
/// overlap, whether they come from two threads sharing this store, from
/// two `SqliteStore`s opened on the same file, or from two processes: the
/// second waits (up to [`BUSY_TIMEOUT`](Self::BUSY_TIMEOUT)) until the
/// first commits or rolls back, then reads what it wrote. No ratchet update
/// can be lost to a concurrent read-modify-write.
///
/// A file database is put in WAL mode with `synchronous = FULL`: once
/// [`commit`](StoreTransaction::commit) returns, the transaction survives
/// a crash or a power loss, and a crash before that leaves no trace of it.
/// `secure_delete` is on, so a removed prekey or a replaced session state
/// is overwritten in the database file rather than left in a free page
/// (copies may remain in the WAL file until SQLite checkpoints and reuses
/// it; the records are sealed in any case).
///
/// Each `SqliteStore` holds one connection behind a [`Mutex`]; its
/// transactions hold that mutex. A thread that panics inside a transaction
/// rolls it back as it unwinds, so a poisoned mutex is recovered.
///
/// Failures are [`StorageError`]s; no rusqlite type leaves this module.
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// How long a transaction waits for another connection's (thread's or
    /// process's) transaction to end before it gives up with
    /// [`StorageError::Busy`]: 30 seconds.
    ///
    /// A client's transactions are short (one decrypt, one batch of
    /// prekeys), so this is only reached when another process holds the
    /// store far longer than it should; until then, waiting is better than
    /// failing a decrypt. This is SQLite's lock wait, not a clock the store
    /// reads.
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

    /// The schema version this build writes into a new database, and the
    /// only one it opens.
    ///
    /// Version 4 adds the `groups` and `group_sender_keys` tables; a
    /// version 3 store is upgraded in place when opened (the tables are
    /// created, nothing else changes). Version 3 added the `peer_users` table (user keys and device
    /// lists). Version 2 logged handshakes by last-resort KEM prekey id
    /// instead of signed prekey id. Older stores (never written by a
    /// release) are refused with [`StorageError::UnsupportedSchema`]: a
    /// version 1 log cannot be re-keyed without the sealed records, and a
    /// version 2 account record holds no user key or address to carry on
    /// with.
    pub const SCHEMA_VERSION: u32 = 4;

    /// Opens (creating it if needed) a store in the SQLite database at
    /// `path`. Several stores, threads and processes may open the same
    /// file; their transactions take turns.
    ///
    /// # Errors
    /// [`StorageError::UnsupportedSchema`] for a store of another schema
    /// version; [`StorageError::Corrupt`] for a file that is not an SQLite
    /// database; other [`StorageError`]s if the file cannot be opened or
    /// initialized.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        // A connection that loses the race to create the file is told
        // busy at once; the whole open still gives up after BUSY_TIMEOUT.
        crate::sqlite_support::open_retrying(
            Self::BUSY_TIMEOUT,
            |e| *e == StorageError::Busy,
            || Self::open_once(path.as_ref()),
        )
    }

    fn open_once(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(db("open"))?;
        // The wait first: another process may be creating the file.
        conn.busy_timeout(Self::BUSY_TIMEOUT).map_err(db("open"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db("open"))?;
        Self::init(conn)
    }

    /// A store in a private in-memory database, gone when dropped. Only
    /// this `SqliteStore` sees it.
    ///
    /// # Errors
    /// A [`StorageError`] if SQLite cannot allocate it.
    pub fn open_in_memory() -> StoreResult<Self> {
        let conn = Connection::open_in_memory().map_err(db("open"))?;
        conn.busy_timeout(Self::BUSY_TIMEOUT).map_err(db("open"))?;
        Self::init(conn)
    }

    /// Checks the whole database file with SQLite's `PRAGMA
    /// integrity_check` (slow on a large store: it reads every page). It
    /// reads the last committed state, so it need not wait for writers;
    /// but it waits for this store's own transaction, so do not call it
    /// from a thread that holds one.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] if SQLite finds any damage; another
    /// [`StorageError`] if the check cannot run.
    pub fn check_integrity(&self) -> StoreResult<()> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stmt = conn
            .prepare("PRAGMA integrity_check")
            .map_err(db("integrity_check"))?;
        let report = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db("integrity_check"))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(db("integrity_check"))?;
        match report.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(StorageError::Corrupt),
        }
    }

    /// Moves the write-ahead log into the database file and truncates it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`). `secure_delete` wipes deleted
    /// records in the database file, but until a checkpoint their older
    /// pages — a used one-time prekey, an earlier ratchet state — can
    /// linger in the `-wal` file, which weakens forward secrecy against
    /// someone who later gets both the files and the storage key. Call it
    /// when the app is idle, or after a batch of decrypts; it waits for
    /// this store's own transaction, so do not call it while holding one.
    ///
    /// # Errors
    /// [`StorageError::Busy`] if another connection is reading or writing
    /// and the log could not be truncated; another [`StorageError`] if
    /// the checkpoint fails.
    pub fn checkpoint(&self) -> StoreResult<()> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let (busy, _, _): (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db("checkpoint"))?;
        if busy != 0 {
            return Err(StorageError::Busy);
        }
        Ok(())
    }

    fn init(mut conn: Connection) -> StoreResult<Self> {
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db("open"))?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(db("open"))?;
        // Immediate: two processes creating the same store take turns, and
        // the second finds the schema the first committed.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("open"))?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [VERSION_TABLE],
                |r| r.get(0),
            )
            .map_err(db(VERSION_TABLE))?;
        if exists {
            let found: Option<i64> = tx
                .query_row(
                    "SELECT version FROM client_schema WHERE slot = 0",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db(VERSION_TABLE))?;
            let found = found.ok_or(StorageError::InvalidRecord {
                table: VERSION_TABLE,
            })?;
            if found == 3 {
                tx.execute_batch(groups::SCHEMA).map_err(db("open"))?;
                tx.execute(
                    "UPDATE client_schema SET version = ?1 WHERE slot = 0",
                    [Self::SCHEMA_VERSION],
                )
                .map_err(db(VERSION_TABLE))?;
            } else if found != i64::from(Self::SCHEMA_VERSION) {
                return Err(StorageError::UnsupportedSchema {
                    expected: Self::SCHEMA_VERSION,
                    found: u32::try_from(found).unwrap_or(u32::MAX),
                });
            }
        } else {
            tx.execute_batch(SCHEMA).map_err(db("open"))?;
            tx.execute_batch(groups::SCHEMA).map_err(db("open"))?;
            tx.execute(
                "INSERT INTO client_schema (slot, version) VALUES (0, ?1)",
                [Self::SCHEMA_VERSION],
            )
            .map_err(db(VERSION_TABLE))?;
        }
        tx.commit().map_err(db("open"))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl ClientStore for SqliteStore {
    type Transaction<'a> = SqliteTransaction<'a>;

    /// Takes this store's connection, then SQLite's write lock
    /// (`BEGIN IMMEDIATE`), waiting up to
    /// [`BUSY_TIMEOUT`](SqliteStore::BUSY_TIMEOUT) for another
    /// connection to release it.
    fn transaction(&self) -> StoreResult<SqliteTransaction<'_>> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        // A transaction left open by a rollback that failed on drop: end it
        // before starting ours (it was never committed).
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").map_err(db("begin"))?;
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(db("begin"))?;
        Ok(SqliteTransaction {
            conn,
            savepoint: false,
        })
    }
}

/// A transaction on a [`SqliteStore`]: holds the store's connection and
/// SQLite's write lock until it is committed or dropped. Dropping it
/// without [`commit`](StoreTransaction::commit) rolls it back.
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub struct SqliteTransaction<'a> {
    conn: MutexGuard<'a, Connection>,
    /// Whether a savepoint is set.
    savepoint: bool,
}

impl core::fmt::Debug for SqliteTransaction<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteTransaction").finish_non_exhaustive()
    }
}

impl Drop for SqliteTransaction<'_> {
    fn drop(&mut self) {
        // Still open: not committed, or the commit failed and SQLite kept
        // the transaction. An error here leaves it open, and the next
        // `transaction` call rolls it back before it begins.
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl StoreTransaction for SqliteTransaction<'_> {
    fn commit(self) -> StoreResult<()> {
        // On failure SQLite has either rolled back already or kept the
        // transaction open, and the drop that follows rolls it back.
        self.conn.execute_batch("COMMIT").map_err(db("commit"))
    }

    // SQLite's own savepoints, under one name: a second SAVEPOINT with the
    // name would nest inside the first, so the old one is released first.
    // Prepared once per connection: a batch sets one per message.
    fn savepoint(&mut self) -> StoreResult<()> {
        if self.savepoint {
            self.run("RELEASE kinseal_savepoint")?;
        }
        self.run("SAVEPOINT kinseal_savepoint")?;
        self.savepoint = true;
        Ok(())
    }

    fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        // ROLLBACK TO keeps the savepoint, as the trait says.
        if self.savepoint {
            self.run("ROLLBACK TO kinseal_savepoint")?;
        }
        Ok(())
    }

    fn release_savepoint(&mut self) -> StoreResult<()> {
        if self.savepoint {
            self.run("RELEASE kinseal_savepoint")?;
            self.savepoint = false;
        }
        Ok(())
    }
}

impl SqliteTransaction<'_> {
    /// The `record` column of the one row the query selects, if any.
    fn record(
        &self,
        sql: &str,
        table: &'static str,
        p: impl Params,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.conn
            .prepare_cached(sql)
            .map_err(db(table))?
            .query_row(p, |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(db(table))
    }

    /// Runs a statement without parameters (a savepoint's).
    fn run(&self, sql: &str) -> StoreResult<()> {
        self.write(sql, "savepoint", []).map(drop)
    }

    /// Runs a statement that writes; how many rows it changed.
    fn write(&self, sql: &str, table: &'static str, p: impl Params) -> StoreResult<usize> {
        self.conn
            .prepare_cached(sql)
            .map_err(db(table))?
            .execute(p)
            .map_err(db(table))
    }

    fn get_at(&self, sql: &AddressSql, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        self.record(
            sql.get,
            sql.table,
            params![peer.app_id(), peer.user_id(), peer.device_id()],
        )
    }

    fn put_at(&self, sql: &AddressSql, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        self.write(
            sql.put,
            sql.table,
            params![peer.app_id(), peer.user_id(), peer.device_id(), record],
        )
        .map(drop)
    }

    fn addresses(&self, sql: &AddressSql) -> StoreResult<Vec<DeviceAddress>> {
        let table = sql.table;
        let mut stmt = self.conn.prepare_cached(sql.list).map_err(db(table))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db(table))?;
        rows.map(|row| {
            let (app_id, user_id, device_id) = row.map_err(db(table))?;
            let device_id = u32::try_from(device_id).map_err(|_| invalid(table))?;
            DeviceAddress::new(&app_id, &user_id, device_id).map_err(|_| invalid(table))
        })
        .collect()
    }

    fn prekey(&self, sql: &PreKeySql, id: u32) -> StoreResult<Option<Vec<u8>>> {
        self.record(sql.get, sql.table, [id])
    }

    fn put_prekey(&self, sql: &PreKeySql, id: u32, record: &[u8]) -> StoreResult<()> {
        self.write(sql.put, sql.table, params![id, record])
            .map(drop)
    }

    fn remove_prekey(&self, sql: &PreKeySql, id: u32) -> StoreResult<bool> {
        Ok(self.write(sql.remove, sql.table, [id])? > 0)
    }

    fn prekey_ids(&self, sql: &PreKeySql) -> StoreResult<Vec<u32>> {
        let table = sql.table;
        let mut stmt = self.conn.prepare_cached(sql.ids).map_err(db(table))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(db(table))?;
        rows.map(|id| u32::try_from(id.map_err(db(table))?).map_err(|_| invalid(table)))
            .collect()
    }
}

impl IdentityStore for SqliteTransaction<'_> {
    fn account(&mut self) -> StoreResult<Option<Vec<u8>>> {
        self.record("SELECT record FROM account WHERE slot = 0", "account", [])
    }

    fn put_account(&mut self, record: &[u8]) -> StoreResult<()> {
        self.write(
            "INSERT INTO account (slot, record) VALUES (0, ?1)
             ON CONFLICT (slot) DO UPDATE SET record = excluded.record",
            "account",
            [record],
        )
        .map(drop)
    }

    fn peer_identity(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        self.get_at(&PEER_IDENTITIES, peer)
    }

    fn put_peer_identity(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        self.put_at(&PEER_IDENTITIES, peer, record)
    }

    fn peer_identity_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>> {
        self.addresses(&PEER_IDENTITIES)
    }

    fn peer_user(&mut self, user: &UserAddress) -> StoreResult<Option<Vec<u8>>> {
        self.record(
            "SELECT record FROM peer_users WHERE app_id = ?1 AND user_id = ?2",
            "peer_users",
            params![user.app_id(), user.user_id()],
        )
    }

    fn put_peer_user(&mut self, user: &UserAddress, record: &[u8]) -> StoreResult<()> {
        self.write(
            "INSERT INTO peer_users (app_id, user_id, record) VALUES (?1, ?2, ?3)
             ON CONFLICT (app_id, user_id) DO UPDATE SET record = excluded.record",
            "peer_users",
            params![user.app_id(), user.user_id(), record],
        )
        .map(drop)
    }

    fn peer_user_addresses(&mut self) -> StoreResult<Vec<UserAddress>> {
        let table = "peer_users";
        let mut stmt = self
            .conn
            .prepare("SELECT app_id, user_id FROM peer_users ORDER BY app_id, user_id")
            .map_err(db(table))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(db(table))?;
        rows.map(|row| {
            let (app_id, user_id) = row.map_err(db(table))?;
            UserAddress::new(&app_id, &user_id).map_err(|_| invalid(table))
        })
        .collect()
    }
}

macro_rules! sqlite_prekey_store {
    ($trait:ident, $sql:expr, $get:ident, $put:ident, $remove:ident, $ids:ident) => {
        impl $trait for SqliteTransaction<'_> {
            fn $get(&mut self, id: u32) -> StoreResult<Option<Vec<u8>>> {
                self.prekey(&$sql, id)
            }

            fn $put(&mut self, id: u32, record: &[u8]) -> StoreResult<()> {
                self.put_prekey(&$sql, id, record)
            }

            fn $remove(&mut self, id: u32) -> StoreResult<bool> {
                self.remove_prekey(&$sql, id)
            }

            fn $ids(&mut self) -> StoreResult<Vec<u32>> {
                self.prekey_ids(&$sql)
            }
        }
    };
}

sqlite_prekey_store!(
    SignedPreKeyStore,
    SIGNED_PREKEYS,
    signed_prekey,
    put_signed_prekey,
    remove_signed_prekey,
    signed_prekey_ids
);
sqlite_prekey_store!(
    OneTimePreKeyStore,
    ONE_TIME_PREKEYS,
    one_time_prekey,
    put_one_time_prekey,
    remove_one_time_prekey,
    one_time_prekey_ids
);
sqlite_prekey_store!(
    KemPreKeyStore,
    KEM_PREKEYS,
    kem_prekey,
    put_kem_prekey,
    remove_kem_prekey,
    kem_prekey_ids
);
sqlite_prekey_store!(
    LastResortKemPreKeyStore,
    LAST_RESORT_KEM_PREKEYS,
    last_resort_kem_prekey,
    put_last_resort_kem_prekey,
    remove_last_resort_kem_prekey,
    last_resort_kem_prekey_ids
);

impl SessionStore for SqliteTransaction<'_> {
    fn sessions(&mut self, peer: &DeviceAddress) -> StoreResult<Option<Vec<u8>>> {
        self.get_at(&SESSIONS, peer)
    }

    fn put_sessions(&mut self, peer: &DeviceAddress, record: &[u8]) -> StoreResult<()> {
        self.put_at(&SESSIONS, peer, record)
    }

    fn remove_sessions(&mut self, peer: &DeviceAddress) -> StoreResult<bool> {
        let removed = self.write(
            REMOVE_SESSIONS,
            SESSIONS.table,
            params![peer.app_id(), peer.user_id(), peer.device_id()],
        )?;
        Ok(removed > 0)
    }

    fn session_addresses(&mut self) -> StoreResult<Vec<DeviceAddress>> {
        self.addresses(&SESSIONS)
    }
}

impl HandshakeLog for SqliteTransaction<'_> {
    fn contains_handshake(&mut self, handshake_id: &[u8; 32]) -> StoreResult<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM handshakes WHERE id = ?1)",
                [&handshake_id[..]],
                |r| r.get(0),
            )
            .map_err(db("handshakes"))
    }

    fn record_handshake(
        &mut self,
        handshake_id: &[u8; 32],
        last_resort_id: u32,
    ) -> StoreResult<()> {
        self.write(
            "INSERT INTO handshakes (id, last_resort_id) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET last_resort_id = excluded.last_resort_id",
            "handshakes",
            params![&handshake_id[..], last_resort_id],
        )
        .map(drop)
    }

    fn handshake_count(&mut self, last_resort_id: u32) -> StoreResult<usize> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM handshakes WHERE last_resort_id = ?1",
                [last_resort_id],
                |r| r.get(0),
            )
            .map_err(db("handshakes"))?;
        usize::try_from(n).map_err(|_| invalid("handshakes"))
    }

    fn forget_handshakes(&mut self, last_resort_id: u32) -> StoreResult<usize> {
        self.write(
            "DELETE FROM handshakes WHERE last_resort_id = ?1",
            "handshakes",
            [last_resort_id],
        )
    }
}

/// Maps a rusqlite error (see `crate::sqlite_support`).
fn db(table: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |e| crate::sqlite_support::storage_error(table, &e)
}

fn invalid(table: &'static str) -> StorageError {
    StorageError::InvalidRecord { table }
}

mod groups;
#[cfg(test)]
mod tests;
