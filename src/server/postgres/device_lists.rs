//! Step: device lists. Publishing locks the user's `users` row, reads the
//! latest list, applies `VerifiedDeviceList::check_publish` and stores the
//! new one, dropping the oldest beyond `MAX_DEVICE_LIST_HISTORY`, in one
//! transaction; a reset replaces the user's rows under the same lock.

use super::statements::Tx;

use super::PostgresDirectory;
use super::columns::{db, get, invalid};
use super::register::lock_user;
use crate::address::UserAddress;
use crate::keys::{DeviceList, DeviceListUpdate, VerifiedDeviceList};
use crate::limits::MAX_DEVICE_LIST_HISTORY;

const TABLE: &str = "device_lists";

/// The latest list stored for `user`, verified again: a damaged record is
/// [`StorageError::InvalidRecord`](crate::StorageError::InvalidRecord),
/// never a list the successor rules would compare against.
fn latest(tx: &mut Tx<'_>, user: &UserAddress) -> crate::Result<Option<VerifiedDeviceList>> {
    let row = tx
        .query_opt(
            "SELECT list_version, encoding FROM device_lists WHERE app_id = $1 AND user_id = $2
             ORDER BY list_version DESC LIMIT 1",
            &[&user.app_id(), &user.user_id()],
        )
        .map_err(db(TABLE))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let version: Vec<u8> = get(&row, 0, TABLE)?;
    let encoding: Vec<u8> = get(&row, 1, TABLE)?;
    let list = DeviceList::from_bytes(&encoding)
        .and_then(DeviceList::verify)
        .map_err(|_| invalid(TABLE))?;
    if list.address() != user || version[..] != list.version().to_be_bytes() {
        return Err(invalid(TABLE));
    }
    Ok(Some(list))
}

fn insert(tx: &mut Tx<'_>, list: &VerifiedDeviceList) -> crate::Result<()> {
    let user = list.address();
    tx.execute(
        "INSERT INTO device_lists (app_id, user_id, list_version, encoding)
         VALUES ($1, $2, $3, $4)",
        &[
            &user.app_id(),
            &user.user_id(),
            &&list.version().to_be_bytes()[..],
            &list.to_bytes(),
        ],
    )
    .map_err(db(TABLE))?;
    Ok(())
}

/// The encodings of the rows `rows` returned, in their order.
fn encodings(rows: &[postgres::Row]) -> crate::Result<Vec<Vec<u8>>> {
    rows.iter().map(|r| get(r, 0, TABLE)).collect()
}

impl PostgresDirectory {
    /// [`PreKeyDirectory::store_device_list`](crate::server::PreKeyDirectory::store_device_list).
    pub(super) fn store_list(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<DeviceListUpdate> {
        self.transaction(|tx| {
            lock_user(tx, user)?;
            let update = list.check_publish(user, latest(tx, user)?.as_ref())?;
            if update == DeviceListUpdate::Unchanged {
                return Ok(update);
            }
            insert(tx, list)?;
            let keep = i64::try_from(MAX_DEVICE_LIST_HISTORY).map_err(|_| invalid(TABLE))?;
            tx.execute(
                "DELETE FROM device_lists WHERE app_id = $1 AND user_id = $2
                 AND list_version NOT IN (SELECT list_version FROM device_lists
                 WHERE app_id = $1 AND user_id = $2 ORDER BY list_version DESC LIMIT $3)",
                &[&user.app_id(), &user.user_id(), &keep],
            )
            .map_err(db(TABLE))?;
            Ok(update)
        })
    }

    /// [`PreKeyDirectory::replace_device_lists`](crate::server::PreKeyDirectory::replace_device_lists).
    pub(super) fn replace_lists(
        &self,
        user: &UserAddress,
        list: &VerifiedDeviceList,
    ) -> crate::Result<()> {
        list.check_publish(user, None)?;
        self.transaction(|tx| {
            lock_user(tx, user)?;
            tx.execute(
                "DELETE FROM device_lists WHERE app_id = $1 AND user_id = $2",
                &[&user.app_id(), &user.user_id()],
            )
            .map_err(db(TABLE))?;
            insert(tx, list)
        })
    }

    /// [`PreKeyDirectory::device_list`](crate::server::PreKeyDirectory::device_list).
    pub(super) fn latest_list(&self, user: &UserAddress) -> crate::Result<Option<Vec<u8>>> {
        self.transaction(|tx| {
            let rows = tx
                .query(
                    "SELECT encoding FROM device_lists WHERE app_id = $1 AND user_id = $2
                     ORDER BY list_version DESC LIMIT 1",
                    &[&user.app_id(), &user.user_id()],
                )
                .map_err(db(TABLE))?;
            Ok(encodings(&rows)?.into_iter().next())
        })
    }

    /// [`PreKeyDirectory::device_lists_since`](crate::server::PreKeyDirectory::device_lists_since).
    pub(super) fn lists_since(
        &self,
        user: &UserAddress,
        version: u64,
    ) -> crate::Result<Vec<Vec<u8>>> {
        self.transaction(|tx| {
            let rows = tx
                .query(
                    "SELECT encoding FROM device_lists WHERE app_id = $1 AND user_id = $2
                     AND list_version > $3 ORDER BY list_version",
                    &[&user.app_id(), &user.user_id(), &&version.to_be_bytes()[..]],
                )
                .map_err(db(TABLE))?;
            encodings(&rows)
        })
    }
}
