//! Step: registering and removing a device. A new identity at an address
//! drops the old one's keys; the old identity's highest ids are kept in
//! `retired_identities` and taken back if it is registered there again, so
//! ids only go up per identity.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::SqliteDirectory;
use super::columns::{db, invalid, key_id};
use super::device::{DeviceRow, find_device};
use super::schema::KEY_TABLES;
use crate::address::DeviceAddress;
use crate::error::DirectoryError;
use crate::keys::IdentityKey;
use crate::limits::MAX_DEVICES_PER_USER;
use crate::server::directory::{HighestIds, Registration};

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

impl SqliteDirectory {
    /// [`PreKeyDirectory::register`](crate::server::PreKeyDirectory::register).
    pub(super) fn register_device(
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

    /// [`PreKeyDirectory::remove`](crate::server::PreKeyDirectory::remove).
    pub(super) fn remove_device(&self, device: &DeviceAddress) -> crate::Result<bool> {
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
}
