//! A prekey directory in SQLite (feature `sqlite`).
//!
//! This file holds the type, opening a database with its connection
//! settings, the transaction every operation runs in, and the
//! [`PreKeyDirectory`] impl, which hands each operation to the file of its
//! step:
//!
//! - `schema`: the tables, the schema version and the migrations from 1 and 2;
//! - `device`: reading a device's row, key counts and [`DeviceInfo`];
//! - `register`: registering and removing devices, retired identities;
//! - `upload`: storing a verified upload;
//! - `bundle`: taking a bundle, which consumes one-time prekeys;
//! - `device_lists`: publishing, resetting and reading users' device lists;
//! - `columns`: error mapping and column values, shared by the steps.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::directory::{DeviceInfo, PreKeyDirectory, Registration, TakenBundle};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::StorageError;
use crate::keys::{
    DeviceListUpdate, IdentityKey, PreKeyCounts, VerifiedDeviceList, VerifiedUpload,
};
use columns::db;

mod bundle;
mod columns;
mod device;
mod device_lists;
mod register;
mod schema;
mod upload;

pub use schema::SQLITE_SCHEMA_VERSION;

/// How long, in milliseconds, a [`SqliteDirectory`] waits for another
/// connection's write transaction to finish before it gives up with
/// [`StorageError::Busy`]: 10 seconds.
///
/// Transactions here are short (one device's rows), so waiting means heavy
/// contention; 10 s rides out a burst without letting requests hang.
/// This is SQLite's lock wait, not a clock the directory reads.
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;

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
        schema::prepare(&mut conn)?;
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

impl PreKeyDirectory for SqliteDirectory {
    fn register(
        &self,
        device: &DeviceAddress,
        identity: &IdentityKey,
    ) -> crate::Result<Registration> {
        self.register_device(device, identity)
    }

    fn remove(&self, device: &DeviceAddress) -> crate::Result<bool> {
        self.remove_device(device)
    }

    fn store(
        &self,
        device: &DeviceAddress,
        upload: &VerifiedUpload,
    ) -> crate::Result<PreKeyCounts> {
        self.store_verified(device, upload)
    }

    fn take_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle> {
        self.take_prekey_bundle(device)
    }

    fn device(&self, device: &DeviceAddress) -> crate::Result<DeviceInfo> {
        self.device_info(device)
    }

    fn devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>> {
        self.user_devices(user)
    }

    fn store_device_list(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<DeviceListUpdate> {
        self.store_list(user, list)
    }

    fn replace_device_lists(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<()> {
        self.replace_lists(user, list)
    }

    fn device_list(&self, user: &UserAddress) -> crate::Result<Option<Vec<u8>>> {
        self.latest_list(user)
    }

    fn device_lists_since(&self, user: &UserAddress, version: u64) -> crate::Result<Vec<Vec<u8>>> {
        self.lists_since(user, version)
    }
}

#[cfg(test)]
mod tests;
