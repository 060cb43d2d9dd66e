//! Step: storing a verified upload. `VerifiedUpload::check_store` applies
//! the directory's rules (ids only grow, stored counts stay in bounds)
//! against the device's row, locked; this writes the keys and the new
//! highest ids in the same transaction.

use super::statements::Tx;

use super::PostgresDirectory;
use super::columns::{db, device_key, stored_time};
use super::device::{counts, known_device};
use crate::address::DeviceAddress;
use crate::keys::{KemPreKey, PreKeyCounts, VerifiedUpload};

/// `INSERT … ON CONFLICT DO UPDATE` of the only row of a single-key table.
macro_rules! put_single_sql {
    ($table:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (app_id, user_id, device_id, key_id, created_at, public, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET key_id = EXCLUDED.key_id,
             created_at = EXCLUDED.created_at, public = EXCLUDED.public,
             signature = EXCLUDED.signature"
        )
    };
}

/// The signed prekey's table, and the statement that replaces its row.
const PUT_SIGNED: (&str, &str) = ("signed_prekeys", put_single_sql!("signed_prekeys"));

/// The last-resort prekey's table, and the statement that replaces its row.
const PUT_LAST_RESORT: (&str, &str) = (
    "last_resort_prekeys",
    put_single_sql!("last_resort_prekeys"),
);

const INSERT_ONE_TIME: &str = "INSERT INTO one_time_prekeys
     (app_id, user_id, device_id, key_id, public) VALUES ($1, $2, $3, $4, $5)";

const INSERT_KEM: &str = "INSERT INTO kem_prekeys
     (app_id, user_id, device_id, key_id, created_at, public, signature)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

const UPDATE_HIGHEST: &str = concat!(
    "UPDATE devices SET highest_signed_id = $4, highest_one_time_id = $5,
     highest_kem_id = $6 WHERE ",
    device_key!()
);

/// Puts `k` as the device's only row of `table` (the signed or the
/// last-resort prekey) with `sql` (its `PUT_…`), replacing the one before.
fn put_single(
    tx: &mut Tx<'_>,
    (table, sql): (&'static str, &'static str),
    device: &DeviceAddress,
    (key_id, created_at, public, signature): (u32, u64, &[u8], &[u8]),
) -> crate::Result<()> {
    tx.execute(
        sql,
        &[
            &device.app_id(),
            &device.user_id(),
            &i64::from(device.device_id()),
            &i64::from(key_id),
            &stored_time(created_at),
            &public,
            &signature,
        ],
    )
    .map_err(db(table))?;
    Ok(())
}

fn kem_columns(k: &KemPreKey) -> (u32, u64, &[u8], &[u8]) {
    (
        k.id(),
        k.created_at(),
        &k.public_key()[..],
        &k.signature()[..],
    )
}

impl PostgresDirectory {
    /// [`PreKeyDirectory::store`](crate::server::PreKeyDirectory::store).
    pub(super) fn store_verified(
        &self,
        device: &DeviceAddress,
        upload: &VerifiedUpload,
    ) -> crate::Result<PreKeyCounts> {
        self.transaction(|tx| {
            let row = known_device(tx, device, true)?;
            let (highest, after) =
                upload.check_store(&row.identity, row.highest, counts(tx, device)?)?;
            let upload = upload.upload();
            let id = i64::from(device.device_id());
            if let Some(k) = upload.signed_prekey() {
                let c = (
                    k.id(),
                    k.created_at(),
                    &k.public_key()[..],
                    &k.signature()[..],
                );
                put_single(tx, PUT_SIGNED, device, c)?;
            }
            if let Some(k) = upload.last_resort_prekey() {
                put_single(tx, PUT_LAST_RESORT, device, kem_columns(k))?;
            }
            if !upload.one_time_prekeys().is_empty() {
                for k in upload.one_time_prekeys() {
                    tx.execute(
                        INSERT_ONE_TIME,
                        &[
                            &device.app_id(),
                            &device.user_id(),
                            &id,
                            &i64::from(k.id()),
                            &&k.public_key()[..],
                        ],
                    )
                    .map_err(db("one_time_prekeys"))?;
                }
            }
            if !upload.kem_prekeys().is_empty() {
                for k in upload.kem_prekeys() {
                    let (key_id, created_at, public, signature) = kem_columns(k);
                    tx.execute(
                        INSERT_KEM,
                        &[
                            &device.app_id(),
                            &device.user_id(),
                            &id,
                            &i64::from(key_id),
                            &stored_time(created_at),
                            &public,
                            &signature,
                        ],
                    )
                    .map_err(db("kem_prekeys"))?;
                }
            }
            let ids =
                [highest.signed(), highest.one_time(), highest.kem()].map(|v| v.map(i64::from));
            tx.execute(
                UPDATE_HIGHEST,
                &[
                    &device.app_id(),
                    &device.user_id(),
                    &id,
                    &ids[0],
                    &ids[1],
                    &ids[2],
                ],
            )
            .map_err(db("devices"))?;
            Ok(after)
        })
    }
}
