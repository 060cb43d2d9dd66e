//! Step: reading a device. Its `devices` row (found by address, locked or
//! not), the counts of its one-time keys, and the [`DeviceInfo`] that
//! `device` and `devices` return.

use super::statements::Tx;

use super::PostgresDirectory;
use super::columns::{blob, db, device_key, get, invalid, key_id, opt_id, time};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::DirectoryError;
use crate::keys::{IdentityKey, PreKeyCounts};
use crate::server::directory::{DeviceInfo, HighestIds};

/// A `devices` row.
pub(super) struct DeviceRow {
    pub(super) identity: IdentityKey,
    pub(super) highest: HighestIds,
}

/// Reads a device's row.
const SELECT_DEVICE: &str = concat!(
    "SELECT identity_key, highest_signed_id, highest_one_time_id, highest_kem_id
     FROM devices WHERE ",
    device_key!()
);

/// Reads a device's row and locks it.
const LOCK_DEVICE: &str = concat!(
    "SELECT identity_key, highest_signed_id, highest_one_time_id, highest_kem_id
     FROM devices WHERE ",
    device_key!(),
    " FOR UPDATE"
);

/// A device's key counts: one-time X25519, one-time ML-KEM.
const COUNTS: &str = concat!(
    "SELECT (SELECT COUNT(*) FROM one_time_prekeys WHERE ",
    device_key!(),
    "), (SELECT COUNT(*) FROM kem_prekeys WHERE ",
    device_key!(),
    ")"
);

const SIGNED_ID: &str = concat!(
    "SELECT key_id, created_at FROM signed_prekeys WHERE ",
    device_key!()
);

const LAST_RESORT_ID: &str = concat!(
    "SELECT key_id FROM last_resort_prekeys WHERE ",
    device_key!()
);

/// The device's row; with `lock`, locked (`FOR UPDATE`) until the
/// transaction ends, so that every other writer of the device waits.
pub(super) fn find_device(
    tx: &mut Tx<'_>,
    device: &DeviceAddress,
    lock: bool,
) -> crate::Result<Option<DeviceRow>> {
    let sql = if lock { LOCK_DEVICE } else { SELECT_DEVICE };
    let id = i64::from(device.device_id());
    let row = tx
        .query_opt(sql, &[&device.app_id(), &device.user_id(), &id])
        .map_err(db("devices"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let t = "devices";
    let identity: Vec<u8> = get(&row, 0, t)?;
    Ok(Some(DeviceRow {
        identity: IdentityKey::from_bytes(&blob(identity, t)?).map_err(|_| invalid(t))?,
        highest: HighestIds::new(
            opt_id(get(&row, 1, t)?, t)?,
            opt_id(get(&row, 2, t)?, t)?,
            opt_id(get(&row, 3, t)?, t)?,
        ),
    }))
}

pub(super) fn known_device(
    tx: &mut Tx<'_>,
    device: &DeviceAddress,
    lock: bool,
) -> crate::Result<DeviceRow> {
    find_device(tx, device, lock)?.ok_or_else(|| DirectoryError::UnknownDevice.into())
}

pub(super) fn counts(tx: &mut Tx<'_>, device: &DeviceAddress) -> crate::Result<PreKeyCounts> {
    let id = i64::from(device.device_id());
    let row = tx
        .query_one(COUNTS, &[&device.app_id(), &device.user_id(), &id])
        .map_err(db("one_time_prekeys"))?;
    let n = |i: usize, t: &'static str| -> crate::Result<usize> {
        usize::try_from(get::<i64>(&row, i, t)?).map_err(|_| invalid(t))
    };
    Ok(PreKeyCounts::new(
        n(0, "one_time_prekeys")?,
        n(1, "kem_prekeys")?,
    ))
}

pub(super) fn info(
    tx: &mut Tx<'_>,
    address: &DeviceAddress,
    row: DeviceRow,
) -> crate::Result<DeviceInfo> {
    let id = i64::from(address.device_id());
    let key = [
        &address.app_id() as &(dyn postgres::types::ToSql + Sync),
        &address.user_id(),
        &id,
    ];
    let t = "signed_prekeys";
    let signed = tx
        .query_opt(SIGNED_ID, &key)
        .map_err(db(t))?
        .map(|r| Ok::<_, crate::Error>((key_id(get(&r, 0, t)?, t)?, time(get(&r, 1, t)?))))
        .transpose()?;
    let t = "last_resort_prekeys";
    let last_resort = tx
        .query_opt(LAST_RESORT_ID, &key)
        .map_err(db(t))?
        .map(|r| key_id(get(&r, 0, t)?, t))
        .transpose()?;
    let counts = counts(tx, address)?;
    Ok(DeviceInfo::new(
        address.clone(),
        row.identity,
        signed,
        last_resort,
        counts,
    ))
}

impl PostgresDirectory {
    /// [`PreKeyDirectory::device`](crate::server::PreKeyDirectory::device).
    pub(super) fn device_info(&self, device: &DeviceAddress) -> crate::Result<DeviceInfo> {
        self.transaction(|tx| {
            let row = known_device(tx, device, false)?;
            info(tx, device, row)
        })
    }

    /// [`PreKeyDirectory::devices`](crate::server::PreKeyDirectory::devices).
    pub(super) fn user_devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>> {
        self.transaction(|tx| {
            let rows = tx
                .query(
                    "SELECT device_id FROM devices WHERE app_id = $1 AND user_id = $2
                     ORDER BY device_id",
                    &[&user.app_id(), &user.user_id()],
                )
                .map_err(db("devices"))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let address = user.device(key_id(get(&r, 0, "devices")?, "devices")?);
                // Removed since the list was read: not a device any more.
                if let Some(row) = find_device(tx, &address, false)? {
                    out.push(info(tx, &address, row)?);
                }
            }
            Ok(out)
        })
    }
}
