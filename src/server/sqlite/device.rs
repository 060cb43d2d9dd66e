//! Step: reading a device. Its `devices` row (found by address), the
//! counts of its one-time keys, and the [`DeviceInfo`] that `device` and
//! `devices` return.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::SqliteDirectory;
use super::columns::{blob, db, invalid, key_id, time};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::DirectoryError;
use crate::keys::{IdentityKey, PreKeyCounts};
use crate::server::directory::{DeviceInfo, HighestIds};

/// A `devices` row.
pub(super) struct DeviceRow {
    pub(super) rowid: i64,
    pub(super) identity: IdentityKey,
    pub(super) highest: HighestIds,
}

pub(super) fn find_device(
    tx: &Transaction<'_>,
    device: &DeviceAddress,
) -> crate::Result<Option<DeviceRow>> {
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

pub(super) fn known_device(
    tx: &Transaction<'_>,
    device: &DeviceAddress,
) -> crate::Result<DeviceRow> {
    find_device(tx, device)?.ok_or_else(|| DirectoryError::UnknownDevice.into())
}

pub(super) fn counts(tx: &Transaction<'_>, rowid: i64) -> crate::Result<PreKeyCounts> {
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

pub(super) fn info(
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

impl SqliteDirectory {
    /// [`PreKeyDirectory::device`](crate::server::PreKeyDirectory::device).
    pub(super) fn device_info(&self, device: &DeviceAddress) -> crate::Result<DeviceInfo> {
        self.transaction(TransactionBehavior::Deferred, |tx| {
            let row = known_device(tx, device)?;
            info(tx, device, row)
        })
    }

    /// [`PreKeyDirectory::devices`](crate::server::PreKeyDirectory::devices).
    pub(super) fn user_devices(&self, user: &UserAddress) -> crate::Result<Vec<DeviceInfo>> {
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
