//! Step: taking a bundle, in one statement (an implicit transaction, so
//! one round trip): [`TAKE`] reads the device's identity, its signed and
//! last-resort prekeys and its counts, deletes (`DELETE … RETURNING`) its
//! oldest one-time ML-KEM prekey and its oldest one-time X25519 prekey,
//! each locked first (`FOR UPDATE`) so that no other taker can delete it
//! too, and records what it handed out (`handed_out.rs`).

use postgres::Row;

use super::PostgresDirectory;
use super::columns::{blob, device_key, get, invalid, key_id, storage_error, time};
use crate::address::DeviceAddress;
use crate::error::{DirectoryError, PreKeyRole, StorageError};
use crate::keys::IdentityKey;
use crate::keys::{KemPreKey, OneTimePreKey, PreKeyBundle, PreKeyCounts, SignedPreKey};
use crate::server::directory::TakenBundle;

/// The columns of a bundle, in the order [`bundle`] reads them: as the
/// take returns them and as `handed_out` records them.
macro_rules! bundle_columns {
    () => {
        "identity_key, signed_id, signed_created_at, signed_public, signed_signature,
         kem_id, kem_created_at, kem_public, kem_signature, kem_last_resort,
         one_time_id, one_time_public, one_time_left, kem_left"
    };
}
pub(super) use bundle_columns;

/// The take, as one statement; parameters `$1, $2, $3` are the device,
/// `$4, $5` the take's request id (see `handed_out.rs`).
///
/// All of its parts see one snapshot, taken when it starts. What keeps
/// two takers apart is the row lock each takes on the key it deletes:
/// the inner `SELECT … ORDER BY key_id LIMIT 1 FOR UPDATE` waits for a
/// taker that holds the oldest key, then (at `READ COMMITTED`) skips that
/// key if it was deleted and locks the next one. A key is deleted by one
/// transaction only, so it is handed out once. No lock is taken on the
/// device's row: the statement's snapshot is taken before any wait, so a
/// lock there would not make it see more.
///
/// Nothing is taken unless the bundle is whole: the ML-KEM key is deleted
/// only if the device has a signed prekey, and the X25519 key only if an
/// ML-KEM key was taken or a last-resort key exists, so a `NotReady` take
/// changes nothing.
///
/// The remaining counts are the keys newer than the one taken (none when
/// none was taken): takers take the oldest key and wait for each other, so
/// when this one commits every older key is gone and every newer one is
/// still there. (Keys an upload commits while the statement runs are not
/// counted: its snapshot is older.)
///
/// A take that consumed a key records the bundle in `handed_out` under
/// its request id, in the same statement: committed with the deletes, or
/// not at all.
///
/// Columns: [`bundle_columns`]. No row: the device is unknown.
pub(super) const TAKE: &str = concat!(
    "WITH dev AS (SELECT identity_key FROM devices WHERE ",
    device_key!(),
    "), spk AS (SELECT key_id, created_at, public, signature FROM signed_prekeys WHERE ",
    device_key!(),
    "), lr AS (SELECT key_id, created_at, public, signature FROM last_resort_prekeys WHERE ",
    device_key!(),
    "), kem AS (DELETE FROM kem_prekeys WHERE ",
    device_key!(),
    " AND key_id = (SELECT key_id FROM kem_prekeys WHERE ",
    device_key!(),
    " AND EXISTS (SELECT 1 FROM spk) ORDER BY key_id LIMIT 1 FOR UPDATE)
     RETURNING key_id, created_at, public, signature),
     otk AS (DELETE FROM one_time_prekeys WHERE ",
    device_key!(),
    " AND key_id = (SELECT key_id FROM one_time_prekeys WHERE ",
    device_key!(),
    " AND EXISTS (SELECT 1 FROM spk)
       AND (EXISTS (SELECT 1 FROM kem) OR EXISTS (SELECT 1 FROM lr))
       ORDER BY key_id LIMIT 1 FOR UPDATE)
     RETURNING key_id, public),
     b AS (SELECT d.identity_key, s.key_id AS signed_id, s.created_at AS signed_created_at,
       s.public AS signed_public, s.signature AS signed_signature,
       COALESCE(k.key_id, l.key_id) AS kem_id,
       CASE WHEN k.key_id IS NULL THEN l.created_at ELSE k.created_at END AS kem_created_at,
       CASE WHEN k.key_id IS NULL THEN l.public ELSE k.public END AS kem_public,
       CASE WHEN k.key_id IS NULL THEN l.signature ELSE k.signature END AS kem_signature,
       k.key_id IS NULL AS kem_last_resort,
       o.key_id AS one_time_id, o.public AS one_time_public,
       (SELECT COUNT(*) FROM one_time_prekeys x, otk WHERE ",
    device_key!(),
    " AND x.key_id > otk.key_id) AS one_time_left,
       (SELECT COUNT(*) FROM kem_prekeys x, kem WHERE ",
    device_key!(),
    " AND x.key_id > kem.key_id) AS kem_left
     FROM dev d LEFT JOIN spk s ON true LEFT JOIN kem k ON true
       LEFT JOIN lr l ON true LEFT JOIN otk o ON true),
     rec AS (INSERT INTO handed_out (app_id, user_id, device_id, instance_id, request_id, ",
    bundle_columns!(),
    ") SELECT $1, $2, $3, CAST($4 AS bigint), CAST($5 AS bigint), ",
    bundle_columns!(),
    " FROM b WHERE signed_id IS NOT NULL AND kem_id IS NOT NULL
       AND (one_time_id IS NOT NULL OR NOT kem_last_resort))
     SELECT ",
    bundle_columns!(),
    " FROM b"
);

/// The bundle in the row [`TAKE`] returned (or `handed_out` recorded), or
/// the typed error of an unknown device or a device not ready.
pub(super) fn bundle(row: Option<&Row>) -> crate::Result<TakenBundle> {
    let Some(r) = row else {
        return Err(DirectoryError::UnknownDevice.into());
    };
    let identity = IdentityKey::from_bytes(&blob(get(r, 0, "devices")?, "devices")?)
        .map_err(|_| invalid("devices"))?;
    let t = "signed_prekeys";
    let Some(spk_id) = get::<Option<i64>>(r, 1, t)? else {
        return Err(DirectoryError::NotReady {
            missing: PreKeyRole::Signed,
        }
        .into());
    };
    let signed_prekey = SignedPreKey::from_parts(
        key_id(spk_id, t)?,
        time(get(r, 2, t)?),
        &blob(get(r, 3, t)?, t)?,
        &blob(get(r, 4, t)?, t)?,
    )
    .map_err(|_| invalid(t))?;
    let t = "kem_prekeys";
    let Some(kem_id) = get::<Option<i64>>(r, 5, t)? else {
        return Err(DirectoryError::NotReady {
            missing: PreKeyRole::Kem,
        }
        .into());
    };
    let public: Vec<u8> = get(r, 7, t)?;
    let kem_prekey = KemPreKey::from_boxed(
        key_id(kem_id, t)?,
        get(r, 9, t)?,
        time(get(r, 6, t)?),
        public
            .into_boxed_slice()
            .try_into()
            .map_err(|_| invalid(t))?,
        blob(get(r, 8, t)?, t)?,
    )
    .map_err(|_| invalid(t))?;
    let t = "one_time_prekeys";
    let one_time_prekey = match get::<Option<i64>>(r, 10, t)? {
        Some(id) => Some(
            OneTimePreKey::from_parts(key_id(id, t)?, &blob(get(r, 11, t)?, t)?)
                .map_err(|_| invalid(t))?,
        ),
        None => None,
    };
    let n = |i: usize, t: &'static str| -> crate::Result<usize> {
        usize::try_from(get::<i64>(r, i, t)?).map_err(|_| invalid(t))
    };
    let remaining = PreKeyCounts::new(n(12, "one_time_prekeys")?, n(13, "kem_prekeys")?);
    Ok(TakenBundle::new(
        PreKeyBundle::new(identity, signed_prekey, one_time_prekey, kem_prekey),
        remaining,
    ))
}

impl PostgresDirectory {
    /// [`PreKeyDirectory::take_bundle`](crate::server::PreKeyDirectory::take_bundle):
    /// [`TAKE`] on its own, retried as
    /// [`with_retries`](Self::with_retries) says, under a new request id.
    /// The statement is its own transaction, committed as it ends: if the
    /// connection is lost while it runs, its outcome is unknown, and
    /// [`recover`](Self::recover) finds out: the bundle it recorded if it
    /// committed, else it runs again under a new request id (at most
    /// [`POSTGRES_MAX_ATTEMPTS`](super::POSTGRES_MAX_ATTEMPTS) times in all).
    pub(super) fn take_prekey_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle> {
        // A take of this device whose outcome was lost: its bundle, if it
        // committed, goes to this requester.
        if let Some(taken) = self.settle(device) {
            return Ok(taken);
        }
        let id = i64::from(device.device_id());
        let mut runs = 0;
        loop {
            runs += 1;
            let request = self.next_request();
            let mut unknown = false;
            let result = self.with_retries(|conn| {
                let row = conn
                    .query_opt(
                        TAKE,
                        &[
                            &device.app_id(),
                            &device.user_id(),
                            &id,
                            &request.instance,
                            &request.sequence,
                        ],
                    )
                    .map_err(|e| {
                        let error = storage_error(&e);
                        if error == StorageError::Io {
                            // Sent, but no answer: it may have committed.
                            unknown = true;
                            crate::Error::Storage(StorageError::Backend { code: -1 })
                        } else {
                            error.into()
                        }
                    })?;
                bundle(row.as_ref())
            });
            let result = match result {
                Err(_) if unknown => match self.recover(device, request) {
                    Ok(Some(taken)) => Ok(taken),
                    // Not committed, and now never will be: run it again.
                    Ok(None) if runs < super::POSTGRES_MAX_ATTEMPTS => continue,
                    Ok(None) => Err(StorageError::Io.into()),
                    // The server could not be asked: the next take of this
                    // device asks again.
                    Err(e) => {
                        self.keep_unsettled(device, request);
                        Err(e)
                    }
                },
                result => result,
            };
            self.after_take(request);
            return result;
        }
    }
}
