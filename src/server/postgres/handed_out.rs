//! Step: what a take handed out, so that a take whose commit was not
//! answered never loses its keys. Each take runs under a request id, the
//! directory's instance number (from the `directory_instances` sequence,
//! drawn when it opens) and a counter, unique across processes without
//! randomness. The take's statement records the bundle it returns in
//! `handed_out` under that id, in its own transaction. When the answer is
//! lost, [`recover`](PostgresDirectory::recover) looks the id up on a new
//! connection: a record is the bundle, returned again; no record means the
//! take did not commit, and a fence row (the id, no bundle) makes sure it
//! never will, so the take can run again. If the server cannot be asked
//! in time, the request is kept as *unsettled*, and the next take for the
//! same device settles it first (its bundle, if it committed, goes to that
//! requester). Records are pruned once older than
//! [`POSTGRES_HANDED_OUT_KEEP`].

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::bundle::{bundle, bundle_columns};
use super::columns::{device_key, get, invalid, retryable, storage_error};
use super::statements::Conn;
use super::{
    POSTGRES_HANDED_OUT_KEEP, POSTGRES_MAX_UNSETTLED, POSTGRES_RECOVERY_PATIENCE, PostgresDirectory,
};
use crate::address::DeviceAddress;
use crate::server::directory::TakenBundle;

/// Draws the number of a directory being opened.
pub(super) const NEXT_INSTANCE: &str = "SELECT nextval('directory_instances')";

/// Claims a request id that recovery did not find committed: a row with
/// no bundle. A take still running under that id then fails on the
/// primary key when it records (so it takes nothing); one that committed
/// already makes this do nothing. Parameters: the device, the request id.
const FENCE: &str = "INSERT INTO handed_out (app_id, user_id, device_id, instance_id, request_id)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

/// The record of a request: a bundle, or a fence (`identity_key` is
/// `NULL`).
const RECORDED: &str = concat!(
    "SELECT ",
    bundle_columns!(),
    " FROM handed_out WHERE ",
    device_key!(),
    " AND instance_id = $4 AND request_id = $5"
);

/// Deletes up to `$2` records older than `$1` seconds, by the database's
/// clock.
const PRUNE: &str = "DELETE FROM handed_out WHERE (app_id, user_id, device_id, instance_id,
     request_id) IN (SELECT app_id, user_id, device_id, instance_id, request_id
     FROM handed_out WHERE taken_at < CAST(extract(epoch FROM now()) AS bigint) - $1
     LIMIT $2)";

/// Every this many takes, a directory prunes old records: 1 024.
const PRUNE_EVERY: i64 = 1024;

/// At most this many records deleted by one prune: 4 096, more than a
/// directory adds between two of its prunes, so that pruning keeps up.
const PRUNE_BATCH: i64 = 4 * PRUNE_EVERY;

/// The first pause between two recovery attempts, doubled up to
/// [`RECOVERY_MAX_PAUSE`].
const RECOVERY_PAUSE: Duration = Duration::from_millis(10);

/// The longest pause between two recovery attempts.
const RECOVERY_MAX_PAUSE: Duration = Duration::from_millis(500);

// Recovery must end long before its record could be pruned: otherwise a
// pruned record would look like a take that never committed.
const _: () =
    assert!(POSTGRES_RECOVERY_PATIENCE.as_secs() * 4 < POSTGRES_HANDED_OUT_KEEP.as_secs());

/// A take whose outcome recovery could not find out: the device, its
/// request id, and when recovery gave up.
pub(super) type Unsettled = (DeviceAddress, Request, Instant);

/// How long an unsettled take may wait for the next take of its device:
/// well inside [`POSTGRES_HANDED_OUT_KEEP`], so that its record, if it
/// committed, is still there when it is looked up.
const UNSETTLED_KEEP: Duration = Duration::from_secs(POSTGRES_HANDED_OUT_KEEP.as_secs() / 2);

/// A take's request id: the directory's instance number and a counter.
#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    pub(super) instance: i64,
    pub(super) sequence: i64,
}

impl PostgresDirectory {
    /// A request id never used before, in any process.
    pub(super) fn next_request(&self) -> Request {
        Request {
            instance: self.instance,
            sequence: self.requests.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether the take `request` committed, found out on a new
    /// connection, retried (the server may be restarting) for up to
    /// [`POSTGRES_RECOVERY_PATIENCE`]: the bundle it recorded if it did;
    /// `None` if it did not, and from now on cannot.
    ///
    /// # Errors
    /// The last failure if the server could not be asked in time: the
    /// take's keys may then have been consumed without being delivered.
    pub(super) fn recover(
        &self,
        device: &DeviceAddress,
        request: Request,
    ) -> crate::Result<Option<TakenBundle>> {
        let deadline = Instant::now() + POSTGRES_RECOVERY_PATIENCE;
        let mut pause = RECOVERY_PAUSE;
        loop {
            let result = self.client().and_then(|mut conn| {
                let out = lookup(&mut conn, device, request);
                self.give_back(conn);
                out
            });
            match result {
                Err(e) if retryable(&e) && Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = pause.saturating_mul(2).min(RECOVERY_MAX_PAUSE);
                }
                result => return result,
            }
        }
    }

    /// Keeps `request`, whose outcome recovery could not find out, for
    /// the next take of `device` to settle.
    pub(super) fn keep_unsettled(&self, device: &DeviceAddress, request: Request) {
        let mut unsettled = self.unsettled();
        if unsettled.len() >= POSTGRES_MAX_UNSETTLED {
            unsettled.remove(0);
        }
        unsettled.push((device.clone(), request, Instant::now()));
    }

    /// Settles the oldest unsettled take of `device`, on one attempt: the
    /// bundle it recorded if it committed (for the caller to hand out:
    /// nobody got it), `None` if it did not (it is fenced and forgotten)
    /// or if there is none. If the server cannot be asked, the take stays
    /// unsettled and `None` lets the caller take a bundle as usual.
    pub(super) fn settle(&self, device: &DeviceAddress) -> Option<TakenBundle> {
        let request = {
            let mut unsettled = self.unsettled();
            unsettled.retain(|(_, _, at)| at.elapsed() < UNSETTLED_KEEP);
            let at = unsettled.iter().position(|(d, _, _)| d == device)?;
            unsettled.remove(at)
        };
        let found = self.client().and_then(|mut conn| {
            let out = lookup(&mut conn, device, request.1);
            self.give_back(conn);
            out
        });
        match found {
            Ok(taken) => taken,
            Err(_) => {
                self.unsettled().insert(0, request);
                None
            }
        }
    }

    fn unsettled(&self) -> std::sync::MutexGuard<'_, Vec<Unsettled>> {
        self.unsettled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// After a take: every [`PRUNE_EVERY`] requests, deletes old records.
    /// Best effort: a failure leaves them for the next prune.
    pub(super) fn after_take(&self, request: Request) {
        if request.sequence % PRUNE_EVERY != 0 {
            return;
        }
        let keep = i64::try_from(POSTGRES_HANDED_OUT_KEEP.as_secs()).unwrap_or(i64::MAX);
        if let Ok(mut conn) = self.client() {
            let _ = conn.execute(PRUNE, &[&keep, &PRUNE_BATCH]);
            self.give_back(conn);
        }
    }
}

/// Fences `request` (a no-op if it committed), then reads its record.
fn lookup(
    conn: &mut Conn,
    device: &DeviceAddress,
    request: Request,
) -> crate::Result<Option<TakenBundle>> {
    let id = i64::from(device.device_id());
    let params: [&(dyn postgres::types::ToSql + Sync); 5] = [
        &device.app_id(),
        &device.user_id(),
        &id,
        &request.instance,
        &request.sequence,
    ];
    let t = "handed_out";
    conn.execute(FENCE, &params)
        .map_err(|e| crate::Error::Storage(storage_error(&e)))?;
    let row = conn
        .query_opt(RECORDED, &params)
        .map_err(|e| crate::Error::Storage(storage_error(&e)))?
        .ok_or_else(|| invalid(t))?;
    if get::<Option<Vec<u8>>>(&row, 0, t)?.is_none() {
        return Ok(None);
    }
    bundle(Some(&row)).map(Some)
}
