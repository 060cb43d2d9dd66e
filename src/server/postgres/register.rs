//! Step: registering and removing a device, under the lock of the user's
//! `users` row. A new identity at an address drops the old one's keys;
//! the old identity's highest ids are kept in `retired_identities` and
//! taken back if it is registered there again, so ids only go up per
//! identity.

use super::statements::Tx;

use super::PostgresDirectory;
use super::columns::{db, device_key, get, invalid, opt_id};
use super::device::{DeviceRow, find_device};
use crate::address::{DeviceAddress, UserAddress};
use crate::error::DirectoryError;
use crate::keys::IdentityKey;
use crate::limits::MAX_DEVICES_PER_USER;
use crate::server::directory::{HighestIds, Registration};

/// Locks `user`'s `users` row (creating it first if needed) until the
/// transaction ends: every write that must see all of a user's devices or
/// lists at once takes it, so they run one after another per user.
pub(super) fn lock_user(tx: &mut Tx<'_>, user: &UserAddress) -> crate::Result<()> {
    tx.execute(
        "INSERT INTO users (app_id, user_id) VALUES ($1, $2)
         ON CONFLICT (app_id, user_id) DO NOTHING",
        &[&user.app_id(), &user.user_id()],
    )
    .map_err(db("users"))?;
    tx.query_one(
        "SELECT 1 FROM users WHERE app_id = $1 AND user_id = $2 FOR UPDATE",
        &[&user.app_id(), &user.user_id()],
    )
    .map_err(db("users"))?;
    Ok(())
}

/// A statement that deletes every row of a device in one table.
macro_rules! delete_all {
    ($table:literal) => {
        (
            $table,
            concat!("DELETE FROM ", $table, " WHERE ", device_key!()),
        )
    };
}

/// The tables that hold a device's keys, each with the statement that
/// deletes the device's rows: the one-time ML-KEM keys before the
/// one-time X25519 ones, the order in which a take locks them, so that a
/// take and a replacement never wait on each other in a cycle.
const DELETE_KEYS: [(&str, &str); 4] = [
    delete_all!("kem_prekeys"),
    delete_all!("one_time_prekeys"),
    delete_all!("signed_prekeys"),
    delete_all!("last_resort_prekeys"),
];

const DELETE_DEVICE: &str = concat!("DELETE FROM devices WHERE ", device_key!());

const UNRETIRE: &str = concat!(
    "DELETE FROM retired_identities WHERE ",
    device_key!(),
    " AND identity_key = $4
     RETURNING highest_signed_id, highest_one_time_id, highest_kem_id"
);

const REPLACE_IDENTITY: &str = concat!(
    "UPDATE devices SET identity_key = $4, highest_signed_id = $5,
     highest_one_time_id = $6, highest_kem_id = $7 WHERE ",
    device_key!()
);

fn delete_keys(tx: &mut Tx<'_>, device: &DeviceAddress) -> crate::Result<()> {
    let id = i64::from(device.device_id());
    for (table, sql) in DELETE_KEYS {
        tx.execute(sql, &[&device.app_id(), &device.user_id(), &id])
            .map_err(db(table))?;
    }
    Ok(())
}

fn ids(h: HighestIds) -> [Option<i64>; 3] {
    [h.signed(), h.one_time(), h.kem()].map(|v| v.map(i64::from))
}

/// Keeps the highest ids of `row`'s identity, which is leaving `device`
/// (replaced or removed), unless it never had any accepted.
fn retire(tx: &mut Tx<'_>, device: &DeviceAddress, row: &DeviceRow) -> crate::Result<()> {
    if row.highest == HighestIds::default() {
        return Ok(());
    }
    let [s, o, k] = ids(row.highest);
    tx.execute(
        "INSERT INTO retired_identities (app_id, user_id, device_id, identity_key,
         highest_signed_id, highest_one_time_id, highest_kem_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (app_id, user_id, device_id, identity_key) DO UPDATE SET
         highest_signed_id = EXCLUDED.highest_signed_id,
         highest_one_time_id = EXCLUDED.highest_one_time_id,
         highest_kem_id = EXCLUDED.highest_kem_id",
        &[
            &device.app_id(),
            &device.user_id(),
            &i64::from(device.device_id()),
            &&row.identity.as_bytes()[..],
            &s,
            &o,
            &k,
        ],
    )
    .map_err(db("retired_identities"))?;
    Ok(())
}

/// Takes back the highest ids `identity` had at `device` before it was
/// replaced or removed (none if it never was registered there, or had no
/// ids accepted).
fn unretire(
    tx: &mut Tx<'_>,
    device: &DeviceAddress,
    identity: &IdentityKey,
) -> crate::Result<HighestIds> {
    let t = "retired_identities";
    let row = tx
        .query_opt(
            UNRETIRE,
            &[
                &device.app_id(),
                &device.user_id(),
                &i64::from(device.device_id()),
                &&identity.as_bytes()[..],
            ],
        )
        .map_err(db(t))?;
    let Some(row) = row else {
        return Ok(HighestIds::default());
    };
    Ok(HighestIds::new(
        opt_id(get(&row, 0, t)?, t)?,
        opt_id(get(&row, 1, t)?, t)?,
        opt_id(get(&row, 2, t)?, t)?,
    ))
}

impl PostgresDirectory {
    /// [`PreKeyDirectory::register`](crate::server::PreKeyDirectory::register).
    pub(super) fn register_device(
        &self,
        device: &DeviceAddress,
        identity: &IdentityKey,
    ) -> crate::Result<Registration> {
        self.transaction(|tx| {
            lock_user(tx, device.user())?;
            let id = i64::from(device.device_id());
            let key = &identity.as_bytes()[..];
            if let Some(row) = find_device(tx, device, true)? {
                if row.identity == *identity {
                    return Ok(Registration::Unchanged);
                }
                delete_keys(tx, device)?;
                retire(tx, device, &row)?;
                let [s, o, k] = ids(unretire(tx, device, identity)?);
                tx.execute(
                    REPLACE_IDENTITY,
                    &[&device.app_id(), &device.user_id(), &id, &key, &s, &o, &k],
                )
                .map_err(db("devices"))?;
                return Ok(Registration::Replaced);
            }
            let count: i64 = get(
                &tx.query_one(
                    "SELECT COUNT(*) FROM devices WHERE app_id = $1 AND user_id = $2",
                    &[&device.app_id(), &device.user_id()],
                )
                .map_err(db("devices"))?,
                0,
                "devices",
            )?;
            let count = usize::try_from(count).map_err(|_| invalid("devices"))?;
            if count >= MAX_DEVICES_PER_USER {
                return Err(DirectoryError::TooManyDevices {
                    max: MAX_DEVICES_PER_USER,
                    found: count + 1,
                }
                .into());
            }
            let [s, o, k] = ids(unretire(tx, device, identity)?);
            tx.execute(
                "INSERT INTO devices (app_id, user_id, device_id, identity_key,
                 highest_signed_id, highest_one_time_id, highest_kem_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&device.app_id(), &device.user_id(), &id, &key, &s, &o, &k],
            )
            .map_err(db("devices"))?;
            Ok(Registration::New)
        })
    }

    /// [`PreKeyDirectory::remove`](crate::server::PreKeyDirectory::remove).
    pub(super) fn remove_device(&self, device: &DeviceAddress) -> crate::Result<bool> {
        self.transaction(|tx| {
            lock_user(tx, device.user())?;
            let Some(row) = find_device(tx, device, true)? else {
                return Ok(false);
            };
            delete_keys(tx, device)?;
            retire(tx, device, &row)?;
            tx.execute(
                DELETE_DEVICE,
                &[
                    &device.app_id(),
                    &device.user_id(),
                    &i64::from(device.device_id()),
                ],
            )
            .map_err(db("devices"))?;
            Ok(true)
        })
    }
}
