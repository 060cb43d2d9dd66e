//! Step: taking a bundle. Under the lock of the device's row: the signed
//! prekey, the oldest one-time ML-KEM prekey (deleted as it is read) or
//! else the last-resort one, and the oldest one-time X25519 prekey
//! (deleted as it is read), in one transaction.

use postgres::Row;

use super::PostgresDirectory;
use super::columns::{blob, db, device_key, get, invalid, key_id, time};
use super::device::{counts, known_device};
use crate::address::DeviceAddress;
use crate::error::{DirectoryError, PreKeyRole};
use crate::keys::{KemPreKey, OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::server::directory::TakenBundle;

const SIGNED: &str = concat!(
    "SELECT key_id, created_at, public, signature FROM signed_prekeys WHERE ",
    device_key!()
);

/// Deletes and returns the oldest one-time ML-KEM prekey.
const TAKE_KEM: &str = concat!(
    "DELETE FROM kem_prekeys WHERE ",
    device_key!(),
    " AND key_id = (SELECT MIN(key_id) FROM kem_prekeys WHERE ",
    device_key!(),
    ") RETURNING key_id, created_at, public, signature"
);

const LAST_RESORT: &str = concat!(
    "SELECT key_id, created_at, public, signature FROM last_resort_prekeys WHERE ",
    device_key!()
);

/// Deletes and returns the oldest one-time X25519 prekey.
const TAKE_ONE_TIME: &str = concat!(
    "DELETE FROM one_time_prekeys WHERE ",
    device_key!(),
    " AND key_id = (SELECT MIN(key_id) FROM one_time_prekeys WHERE ",
    device_key!(),
    ") RETURNING key_id, public"
);

/// A signed or KEM prekey row, as read: id, created_at, public, signature.
fn key_columns(r: &Row, t: &'static str) -> crate::Result<(u32, u64, Vec<u8>, Vec<u8>)> {
    Ok((
        key_id(get(r, 0, t)?, t)?,
        time(get(r, 1, t)?),
        get(r, 2, t)?,
        get(r, 3, t)?,
    ))
}

fn kem_prekey(r: &Row, last_resort: bool, t: &'static str) -> crate::Result<KemPreKey> {
    let (id, created_at, public, signature) = key_columns(r, t)?;
    let public = public
        .into_boxed_slice()
        .try_into()
        .map_err(|_| invalid(t))?;
    KemPreKey::from_boxed(id, last_resort, created_at, public, blob(signature, t)?)
        .map_err(|_| invalid(t))
}

impl PostgresDirectory {
    /// [`PreKeyDirectory::take_bundle`](crate::server::PreKeyDirectory::take_bundle).
    pub(super) fn take_prekey_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle> {
        self.transaction(|tx| {
            // Every other taker of this device waits here until this
            // transaction ends, then sees what it deleted.
            let row = known_device(tx, device, true)?;
            let id = i64::from(device.device_id());
            let key = [
                &device.app_id() as &(dyn postgres::types::ToSql + Sync),
                &device.user_id(),
                &id,
            ];
            let t = "signed_prekeys";
            let signed =
                tx.query_opt(SIGNED, &key)
                    .map_err(db(t))?
                    .ok_or(DirectoryError::NotReady {
                        missing: PreKeyRole::Signed,
                    })?;
            let (spk_id, created_at, public, signature) = key_columns(&signed, t)?;
            let signed_prekey = SignedPreKey::from_parts(
                spk_id,
                created_at,
                &blob(public, t)?,
                &blob(signature, t)?,
            )
            .map_err(|_| invalid(t))?;
            // The oldest one-time KEM key, taken; else the last-resort key.
            // If neither exists the error rolls the transaction back, so
            // nothing is taken.
            let t = "kem_prekeys";
            let taken = tx.query_opt(TAKE_KEM, &key).map_err(db(t))?;
            let kem_prekey = match taken {
                Some(r) => kem_prekey(&r, false, t)?,
                None => {
                    let t = "last_resort_prekeys";
                    let r = tx.query_opt(LAST_RESORT, &key).map_err(db(t))?.ok_or(
                        DirectoryError::NotReady {
                            missing: PreKeyRole::Kem,
                        },
                    )?;
                    kem_prekey(&r, true, t)?
                }
            };
            let t = "one_time_prekeys";
            let one_time_prekey = tx
                .query_opt(TAKE_ONE_TIME, &key)
                .map_err(db(t))?
                .map(|r| {
                    OneTimePreKey::from_parts(key_id(get(&r, 0, t)?, t)?, &blob(get(&r, 1, t)?, t)?)
                        .map_err(|_| invalid(t))
                })
                .transpose()?;
            let remaining = counts(tx, device)?;
            Ok(TakenBundle::new(
                PreKeyBundle::new(row.identity, signed_prekey, one_time_prekey, kem_prekey),
                remaining,
            ))
        })
    }
}
