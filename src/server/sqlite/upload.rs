//! Step: storing a verified upload. `VerifiedUpload::check_store` applies
//! the directory's rules (ids only grow, stored counts stay in bounds)
//! against the device's row; this writes the keys and the new highest ids
//! in the same transaction.

use rusqlite::{Transaction, TransactionBehavior, params};

use super::SqliteDirectory;
use super::columns::{db, stored_time};
use super::device::{counts, known_device};
use crate::address::DeviceAddress;
use crate::keys::{KemPreKey, PreKeyCounts, VerifiedUpload};

fn insert_kem(
    tx: &Transaction<'_>,
    sql: &str,
    rowid: i64,
    k: &KemPreKey,
) -> rusqlite::Result<usize> {
    tx.execute(
        sql,
        params![
            rowid,
            k.id(),
            stored_time(k.created_at()),
            &k.public_key()[..],
            &k.signature()[..]
        ],
    )
}

impl SqliteDirectory {
    /// [`PreKeyDirectory::store`](crate::server::PreKeyDirectory::store).
    pub(super) fn store_verified(
        &self,
        device: &DeviceAddress,
        upload: &VerifiedUpload,
    ) -> crate::Result<PreKeyCounts> {
        self.transaction(TransactionBehavior::Immediate, |tx| {
            let row = known_device(tx, device)?;
            let (highest, after) =
                upload.check_store(&row.identity, row.highest, counts(tx, row.rowid)?)?;
            let upload = upload.upload();
            if let Some(k) = upload.signed_prekey() {
                tx.execute(
                    "INSERT OR REPLACE INTO signed_prekeys
                     (device, key_id, created_at, public, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row.rowid,
                        k.id(),
                        stored_time(k.created_at()),
                        &k.public_key()[..],
                        &k.signature()[..]
                    ],
                )
                .map_err(db("signed_prekeys"))?;
            }
            if let Some(k) = upload.last_resort_prekey() {
                insert_kem(
                    tx,
                    "INSERT OR REPLACE INTO last_resort_prekeys
                     (device, key_id, created_at, public, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                    row.rowid,
                    k,
                )
                .map_err(db("last_resort_prekeys"))?;
            }
            {
                let mut insert = tx
                    .prepare(
                        "INSERT INTO one_time_prekeys (device, key_id, public) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(db("one_time_prekeys"))?;
                for k in upload.one_time_prekeys() {
                    insert
                        .execute(params![row.rowid, k.id(), &k.public_key()[..]])
                        .map_err(db("one_time_prekeys"))?;
                }
            }
            for k in upload.kem_prekeys() {
                insert_kem(
                    tx,
                    "INSERT INTO kem_prekeys (device, key_id, created_at, public, signature)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    row.rowid,
                    k,
                )
                .map_err(db("kem_prekeys"))?;
            }
            tx.execute(
                "UPDATE devices SET highest_signed_id = ?1, highest_one_time_id = ?2,
                 highest_kem_id = ?3 WHERE device = ?4",
                params![
                    highest.signed(),
                    highest.one_time(),
                    highest.kem(),
                    row.rowid
                ],
            )
            .map_err(db("devices"))?;
            Ok(after)
        })
    }
}
