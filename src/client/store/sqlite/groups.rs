//! The group tables of [`SqliteStore`](super::SqliteStore) (schema 4).

use rusqlite::params;

use super::{SqliteTransaction, db, invalid};
use crate::address::DeviceAddress;
use crate::client::store::{GroupStore, StoreResult};
use crate::group::GroupId;

/// The group tables: one row per group, one per group and sending device.
pub(super) const SCHEMA: &str = "
CREATE TABLE groups (
    group_id  BLOB PRIMARY KEY CHECK (length(group_id) = 32),
    record    BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE group_sender_keys (
    group_id  BLOB NOT NULL,
    app_id    BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    device_id INTEGER NOT NULL,
    record    BLOB NOT NULL,
    PRIMARY KEY (group_id, app_id, user_id, device_id)
) WITHOUT ROWID;
";

const GROUPS: &str = "groups";
const SENDER_KEYS: &str = "group_sender_keys";

impl GroupStore for SqliteTransaction<'_> {
    fn group(&mut self, group: &GroupId) -> StoreResult<Option<Vec<u8>>> {
        self.record(
            "SELECT record FROM groups WHERE group_id = ?1",
            GROUPS,
            [&group.as_bytes()[..]],
        )
    }

    fn put_group(&mut self, group: &GroupId, record: &[u8]) -> StoreResult<()> {
        self.write(
            "INSERT INTO groups (group_id, record) VALUES (?1, ?2)
             ON CONFLICT (group_id) DO UPDATE SET record = excluded.record",
            GROUPS,
            params![&group.as_bytes()[..], record],
        )
        .map(drop)
    }

    fn remove_group(&mut self, group: &GroupId) -> StoreResult<bool> {
        let removed = self.write(
            "DELETE FROM groups WHERE group_id = ?1",
            GROUPS,
            [&group.as_bytes()[..]],
        )?;
        Ok(removed > 0)
    }

    fn group_ids(&mut self) -> StoreResult<Vec<GroupId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT group_id FROM groups ORDER BY group_id")
            .map_err(db(GROUPS))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(db(GROUPS))?;
        rows.map(|row| {
            let bytes = row.map_err(db(GROUPS))?;
            let id: [u8; 32] = bytes.try_into().map_err(|_| invalid(GROUPS))?;
            Ok(GroupId::from_bytes(id))
        })
        .collect()
    }

    fn group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.record(
            "SELECT record FROM group_sender_keys
             WHERE group_id = ?1 AND app_id = ?2 AND user_id = ?3 AND device_id = ?4",
            SENDER_KEYS,
            params![
                &group.as_bytes()[..],
                sender.app_id(),
                sender.user_id(),
                sender.device_id()
            ],
        )
    }

    fn put_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
        record: &[u8],
    ) -> StoreResult<()> {
        self.write(
            "INSERT INTO group_sender_keys (group_id, app_id, user_id, device_id, record)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (group_id, app_id, user_id, device_id)
             DO UPDATE SET record = excluded.record",
            SENDER_KEYS,
            params![
                &group.as_bytes()[..],
                sender.app_id(),
                sender.user_id(),
                sender.device_id(),
                record
            ],
        )
        .map(drop)
    }

    fn remove_group_sender_keys(
        &mut self,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> StoreResult<bool> {
        let removed = self.write(
            "DELETE FROM group_sender_keys
             WHERE group_id = ?1 AND app_id = ?2 AND user_id = ?3 AND device_id = ?4",
            SENDER_KEYS,
            params![
                &group.as_bytes()[..],
                sender.app_id(),
                sender.user_id(),
                sender.device_id()
            ],
        )?;
        Ok(removed > 0)
    }

    fn group_senders(&mut self, group: &GroupId) -> StoreResult<Vec<DeviceAddress>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT app_id, user_id, device_id FROM group_sender_keys
                 WHERE group_id = ?1 ORDER BY app_id, user_id, device_id",
            )
            .map_err(db(SENDER_KEYS))?;
        let rows = stmt
            .query_map([&group.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db(SENDER_KEYS))?;
        rows.map(|row| {
            let (app_id, user_id, device_id) = row.map_err(db(SENDER_KEYS))?;
            let device_id = u32::try_from(device_id).map_err(|_| invalid(SENDER_KEYS))?;
            DeviceAddress::new(&app_id, &user_id, device_id).map_err(|_| invalid(SENDER_KEYS))
        })
        .collect()
    }
}
