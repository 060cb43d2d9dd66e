//! Step: storing a verified upload. `VerifiedUpload::check_store` applies
//! the directory's rules (ids only grow, stored counts stay in bounds)
//! against the device's row, locked; this writes the keys and the new
//! highest ids in the same transaction.

use super::statements::Tx;

use super::PostgresDirectory;
use super::columns::{DEVICE_KEY, db, stored_time};
use super::device::{counts, known_device};
use crate::address::DeviceAddress;
use crate::keys::{KemPreKey, PreKeyCounts, VerifiedUpload};

/// Puts `k` as the device's only row of `table` (the signed or the
/// last-resort prekey), replacing the one before.
fn put_single(
    tx: &mut Tx<'_>,
    table: &'static str,
    device: &DeviceAddress,
    (key_id, created_at, public, signature): (u32, u64, &[u8], &[u8]),
) -> crate::Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO {table} (app_id, user_id, device_id, key_id, created_at, public, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET key_id = EXCLUDED.key_id,
             created_at = EXCLUDED.created_at, public = EXCLUDED.public,
             signature = EXCLUDED.signature"
        ),
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
                put_single(tx, "signed_prekeys", device, c)?;
            }
            if let Some(k) = upload.last_resort_prekey() {
                put_single(tx, "last_resort_prekeys", device, kem_columns(k))?;
            }
            if !upload.one_time_prekeys().is_empty() {
                let insert =
                    "INSERT INTO one_time_prekeys (app_id, user_id, device_id, key_id, public)
                         VALUES ($1, $2, $3, $4, $5)";
                for k in upload.one_time_prekeys() {
                    tx.execute(
                        insert,
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
                let insert = "INSERT INTO kem_prekeys
                         (app_id, user_id, device_id, key_id, created_at, public, signature)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)";
                for k in upload.kem_prekeys() {
                    let (key_id, created_at, public, signature) = kem_columns(k);
                    tx.execute(
                        insert,
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
                &format!(
                    "UPDATE devices SET highest_signed_id = $4, highest_one_time_id = $5,
                     highest_kem_id = $6 WHERE {DEVICE_KEY}"
                ),
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
