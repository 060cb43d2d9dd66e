//! Step: taking a bundle. The signed prekey, the oldest one-time ML-KEM
//! prekey (deleted as it is read) or else the last-resort one, and the
//! oldest one-time X25519 prekey (deleted as it is read), in one
//! transaction.

use rusqlite::{OptionalExtension, TransactionBehavior};

use super::SqliteDirectory;
use super::columns::{blob, db, invalid, key_id, time};
use super::device::{counts, known_device};
use crate::address::DeviceAddress;
use crate::error::{DirectoryError, PreKeyRole};
use crate::keys::{KemPreKey, OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::server::directory::TakenBundle;

/// The columns of a signed prekey or KEM prekey row, as read:
/// id, created_at, public, signature.
type KeyColumns = (i64, i64, Vec<u8>, Vec<u8>);

fn key_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyColumns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn kem_prekey(c: KeyColumns, last_resort: bool, table: &'static str) -> crate::Result<KemPreKey> {
    let (id, created_at, public, signature) = c;
    let public = public
        .into_boxed_slice()
        .try_into()
        .map_err(|_| invalid(table))?;
    KemPreKey::from_boxed(
        key_id(id, table)?,
        last_resort,
        time(created_at),
        public,
        blob(signature, table)?,
    )
    .map_err(|_| invalid(table))
}

impl SqliteDirectory {
    /// [`PreKeyDirectory::take_bundle`](crate::server::PreKeyDirectory::take_bundle).
    pub(super) fn take_prekey_bundle(&self, device: &DeviceAddress) -> crate::Result<TakenBundle> {
        self.transaction(TransactionBehavior::Immediate, |tx| {
            let row = known_device(tx, device)?;
            let signed = tx
                .query_row(
                    "SELECT key_id, created_at, public, signature FROM signed_prekeys
                     WHERE device = ?1",
                    [row.rowid],
                    key_columns,
                )
                .optional()
                .map_err(db("signed_prekeys"))?
                .ok_or(DirectoryError::NotReady {
                    missing: PreKeyRole::Signed,
                })?;
            let (id, created_at, public, signature) = signed;
            let signed_prekey = SignedPreKey::from_parts(
                key_id(id, "signed_prekeys")?,
                time(created_at),
                &blob(public, "signed_prekeys")?,
                &blob(signature, "signed_prekeys")?,
            )
            .map_err(|_| invalid("signed_prekeys"))?;
            // The oldest one-time KEM key, taken; else the last-resort key.
            // If neither exists the error rolls the transaction back, so
            // nothing is taken.
            let kem_prekey = match tx
                .query_row(
                    "DELETE FROM kem_prekeys WHERE device = ?1 AND key_id =
                     (SELECT MIN(key_id) FROM kem_prekeys WHERE device = ?1)
                     RETURNING key_id, created_at, public, signature",
                    [row.rowid],
                    key_columns,
                )
                .optional()
                .map_err(db("kem_prekeys"))?
            {
                Some(c) => kem_prekey(c, false, "kem_prekeys")?,
                None => {
                    let c = tx
                        .query_row(
                            "SELECT key_id, created_at, public, signature
                             FROM last_resort_prekeys WHERE device = ?1",
                            [row.rowid],
                            key_columns,
                        )
                        .optional()
                        .map_err(db("last_resort_prekeys"))?
                        .ok_or(DirectoryError::NotReady {
                            missing: PreKeyRole::Kem,
                        })?;
                    kem_prekey(c, true, "last_resort_prekeys")?
                }
            };
            let one_time_prekey = tx
                .query_row(
                    "DELETE FROM one_time_prekeys WHERE device = ?1 AND key_id =
                     (SELECT MIN(key_id) FROM one_time_prekeys WHERE device = ?1)
                     RETURNING key_id, public",
                    [row.rowid],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )
                .optional()
                .map_err(db("one_time_prekeys"))?
                .map(|(id, public)| {
                    OneTimePreKey::from_parts(
                        key_id(id, "one_time_prekeys")?,
                        &blob(public, "one_time_prekeys")?,
                    )
                    .map_err(|_| invalid("one_time_prekeys"))
                })
                .transpose()?;
            let remaining = counts(tx, row.rowid)?;
            Ok(TakenBundle::new(
                PreKeyBundle::new(row.identity, signed_prekey, one_time_prekey, kem_prekey),
                remaining,
            ))
        })
    }
}
