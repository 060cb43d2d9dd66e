//! A prekey directory in PostgreSQL (feature `postgres`).
//!
//! This file holds the type, its connection pool, the transaction every
//! operation runs in (with its retries), and the [`PreKeyDirectory`] impl,
//! which hands each operation to the file of its step:
//!
//! - `schema`: the tables, the `schema_version` table and the migrations;
//! - `device`: reading a device's row, key counts and [`DeviceInfo`];
//! - `register`: registering and removing devices, retired identities;
//! - `upload`: storing a verified upload;
//! - `bundle`: taking a bundle, which consumes one-time prekeys;
//! - `handed_out`: the takes' request ids, records and recovery;
//! - `device_lists`: publishing, resetting and reading users' device lists;
//! - `columns`: error mapping and column values, shared by the steps.

use std::sync::atomic::AtomicI64;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::{Config, NoTls};

use super::directory::{DeviceInfo, PreKeyDirectory, Registration, TakenBundle};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::StorageError;
use crate::keys::{
    DeviceListUpdate, IdentityKey, PreKeyCounts, VerifiedDeviceList, VerifiedUpload,
};
use columns::{retryable, storage_error};
use statements::{Conn, Tx};

mod bundle;
mod columns;
mod device;
mod device_lists;
mod handed_out;
mod register;
mod schema;
mod statements;
mod upload;

pub use schema::POSTGRES_SCHEMA_VERSION;

/// How many idle connections a [`PostgresDirectory`] keeps for reuse: 16.
///
/// An operation takes an idle connection or opens a new one, so as many
/// run at once as threads call; afterwards at most this many stay open
/// (the others are closed). Size PostgreSQL's `max_connections` for the
/// number of server processes times this.
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub const POSTGRES_MAX_IDLE_CONNECTIONS: usize = 16;

/// How many times a [`PostgresDirectory`] runs one operation's transaction
/// before it reports the failure: 5.
///
/// A transaction is run again only when it failed before its commit with
/// a failure that rolled it back: a serialization failure (`40001`), a
/// deadlock (`40P01`) or a lost connection (which the server rolls back).
/// A commit whose outcome is unknown (the connection dropped while it was
/// sent) is never run again blindly: a take is looked up (see
/// [`POSTGRES_RECOVERY_PATIENCE`]) and run again only if it did not
/// commit, which counts as an attempt; any other operation reports
/// [`StorageError::Io`].
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub const POSTGRES_MAX_ATTEMPTS: u32 = 5;

/// How long a [`PostgresDirectory`] keeps the record of what a take
/// handed out (its `handed_out` row): 10 minutes. A take whose commit was
/// not answered is looked up by its request id within
/// [`POSTGRES_RECOVERY_PATIENCE`]; the records are then pruned, a few
/// thousand at a time, every 1 024 takes of each directory.
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub const POSTGRES_HANDED_OUT_KEEP: Duration = Duration::from_secs(600);

/// How long a take whose commit was not answered (the connection was lost
/// while its statement ran) keeps trying to reach the server to find out
/// whether it committed: 10 seconds, with pauses from 10 ms doubling up
/// to 500 ms. If it committed, the take returns the bundle it recorded;
/// if not, it runs again. If the server cannot be reached in this time,
/// the take fails with [`StorageError::Io`], and the directory keeps the
/// take's request id: the next take of a bundle for the same device (in
/// this process, within [`POSTGRES_HANDED_OUT_KEEP`]) first looks it up,
/// and hands out the bundle it recorded if it committed, so its keys go to
/// that requester instead of being lost (and never to two). At most
/// [`POSTGRES_MAX_UNSETTLED`] such takes are kept.
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub const POSTGRES_RECOVERY_PATIENCE: Duration = Duration::from_secs(10);

/// How many takes whose outcome could not be found out (see
/// [`POSTGRES_RECOVERY_PATIENCE`]) a [`PostgresDirectory`] keeps, to hand
/// their bundles to the next requester of the same device: 1 024. Beyond
/// it, the oldest is dropped (its keys, if it committed, are lost: never
/// handed out twice).
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub const POSTGRES_MAX_UNSETTLED: usize = 1024;

/// The pause before the second attempt, doubled before each further one.
const RETRY_PAUSE: Duration = Duration::from_millis(2);

/// A [`PreKeyDirectory`] stored in PostgreSQL, through the synchronous
/// `postgres` client (pure Rust, no libpq), with a small pool of
/// connections.
///
/// Every operation is one transaction at `READ COMMITTED`, where each
/// statement sees every transaction committed before it began. What
/// keeps concurrent writers apart is row locks: the device's `devices`
/// row (`SELECT … FOR UPDATE`) for storing an upload, and the user's
/// `users` row for registering, removing and the device lists. Taking a
/// bundle is one statement, its own transaction (one round trip): it
/// locks the oldest one-time keys (`SELECT … FOR UPDATE`) and deletes
/// them (`DELETE … RETURNING`) as it reads the rest of the bundle, so two
/// callers, in one process or in many, can never both hand out one key.
/// `docs/SERVER.md` lists the statements.
///
/// Connections are made without TLS: use a Unix socket or a network the
/// server trusts. Failures are [`StorageError`]s; no `postgres` type
/// leaves this module.
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub struct PostgresDirectory {
    config: Config,
    idle: Mutex<Vec<Conn>>,
    /// This directory's number, from `directory_instances`: the first
    /// half of its takes' request ids.
    instance: i64,
    /// The second half: the next take's counter.
    requests: AtomicI64,
    /// Takes whose outcome recovery could not find out, oldest first:
    /// the device, the request id and when recovery gave up.
    unsettled: Mutex<Vec<handed_out::Unsettled>>,
}

impl core::fmt::Debug for PostgresDirectory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Not the configuration: it may hold a password.
        f.debug_struct("PostgresDirectory").finish_non_exhaustive()
    }
}

impl PostgresDirectory {
    /// Connects to the PostgreSQL database that `params` names, as a
    /// `postgresql://` URL or libpq's `key=value` form (as
    /// `host=/run/postgresql dbname=kinseal`), and brings its schema to
    /// [`POSTGRES_SCHEMA_VERSION`] (creating the tables in an empty
    /// database), and draws the directory's number for its takes' request
    /// ids. The tables go where the connection's `search_path`
    /// puts them (`options=-csearch_path=NAME` picks a schema).
    ///
    /// # Errors
    /// [`StorageError::Io`] if `params` cannot be parsed or the server
    /// cannot be reached; [`StorageError::UnsupportedSchema`] for a
    /// database of a newer schema version; other [`StorageError`]s if the
    /// schema cannot be created.
    pub fn connect(params: &str) -> crate::Result<Self> {
        let config: Config = params
            .parse()
            .map_err(|_| crate::Error::Storage(StorageError::Io))?;
        let mut directory = PostgresDirectory {
            config,
            idle: Mutex::new(Vec::new()),
            instance: 0,
            requests: AtomicI64::new(1),
            unsettled: Mutex::new(Vec::new()),
        };
        directory.instance = directory.with_retries(|conn| {
            schema::prepare(&mut conn.client)?;
            let row = conn
                .query_opt(handed_out::NEXT_INSTANCE, &[])
                .map_err(|e| crate::Error::Storage(storage_error(&e)))?
                .ok_or_else(|| columns::invalid("directory_instances"))?;
            columns::get(&row, 0, "directory_instances")
        })?;
        Ok(directory)
    }

    fn lock(&self) -> crate::Result<MutexGuard<'_, Vec<Conn>>> {
        self.idle.lock().map_err(|_| StorageError::Poisoned.into())
    }

    /// An idle connection, or a new one.
    fn client(&self) -> crate::Result<Conn> {
        // Connections the server closed while idle are dropped here.
        let idle = self.lock()?.pop();
        if let Some(conn) = idle.filter(|c| !c.client.is_closed()) {
            return Ok(conn);
        }
        self.config
            .connect(NoTls)
            .and_then(Conn::new)
            .map_err(|e| storage_error(&e).into())
    }

    /// Gives a connection back to the pool, unless it is closed or the
    /// pool is full.
    fn give_back(&self, client: Conn) {
        if client.client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.lock()
            && idle.len() < POSTGRES_MAX_IDLE_CONNECTIONS
        {
            idle.push(client);
        }
    }

    /// Runs `attempt` on a connection up to [`POSTGRES_MAX_ATTEMPTS`]
    /// times, while it fails in a way [`retryable`] says left nothing
    /// behind. `attempt` must commit its own transaction last, and
    /// report a failed commit that may have committed as
    /// [`StorageError::Backend`] (never retried), not `Io`.
    fn with_retries<T>(
        &self,
        mut attempt: impl FnMut(&mut Conn) -> crate::Result<T>,
    ) -> crate::Result<T> {
        let mut pause = RETRY_PAUSE;
        let mut tries = 1;
        loop {
            let result = self.client().and_then(|mut client| {
                let out = attempt(&mut client);
                self.give_back(client);
                out
            });
            match result {
                Err(e) if retryable(&e) && tries < POSTGRES_MAX_ATTEMPTS => {
                    tries += 1;
                    std::thread::sleep(pause);
                    pause = pause.saturating_mul(2);
                }
                result => return result,
            }
        }
    }

    /// Runs `f` in one `READ COMMITTED` transaction and commits it if `f`
    /// succeeds; rolls it back otherwise. Retried as
    /// [`with_retries`](Self::with_retries) says: a failure before the
    /// commit, or a commit the server refused (a serialization failure),
    /// runs it again; a commit lost with the connection does not, and is
    /// [`StorageError::Io`] to the caller.
    fn transaction<T>(
        &self,
        mut f: impl FnMut(&mut Tx<'_>) -> crate::Result<T>,
    ) -> crate::Result<T> {
        let mut unknown_commit = false;
        let result = self.with_retries(|client| {
            let mut tx = client
                .begin()
                .map_err(|e| crate::Error::Storage(storage_error(&e)))?;
            let out = f(&mut tx)?;
            tx.commit().map_err(|e| {
                let error = storage_error(&e);
                if error == StorageError::Io {
                    // Sent, but no answer: it may have committed. Never
                    // run it again (a bundle would be taken twice).
                    unknown_commit = true;
                    crate::Error::Storage(StorageError::Backend { code: -1 })
                } else {
                    error.into()
                }
            })?;
            Ok(out)
        });
        match result {
            Err(_) if unknown_commit => Err(StorageError::Io.into()),
            result => result,
        }
    }
}

impl PreKeyDirectory for PostgresDirectory {
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
