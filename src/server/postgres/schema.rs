//! Step: the schema. The tables, the `schema_version` table that records
//! which migrations ran, and applying the missing ones when a directory
//! opens.

use postgres::Client;
use postgres::error::SqlState;

use super::columns::{db, get, invalid, storage_error};
use crate::error::StorageError;

/// The schema version a [`PostgresDirectory`] records in its
/// `schema_version` table and accepts when it opens a database: the
/// number of migrations it knows. A database at an older version is
/// migrated when opened; a newer one is refused with
/// [`StorageError::UnsupportedSchema`].
///
/// [`PostgresDirectory`]: super::PostgresDirectory
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub const POSTGRES_SCHEMA_VERSION: u32 = 2;

/// Migration 1: every table. Each per-device table is keyed by
/// `(app_id, user_id, device_id)` first, so that all of a user's rows sit
/// together under one key prefix (what a distributed engine shards by).
/// Ids and device ids are `u32` in `bigint`; times are `u64` in `bigint`
/// bit for bit; keys and signatures are `bytea` of their fixed lengths.
/// `users` holds one row per user, locked by every write that must see
/// the user's devices or lists as a whole (registering, device lists).
/// `list_version` is the list's version as 8 big-endian bytes, so that
/// `bytea` order (bytewise) is the numeric order of every `u64`.
const MIGRATION_1: &str = "
CREATE TABLE users (
    app_id              bytea NOT NULL,
    user_id             bytea NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE TABLE devices (
    app_id              bytea NOT NULL,
    user_id             bytea NOT NULL,
    device_id           bigint NOT NULL,
    identity_key        bytea NOT NULL,
    highest_signed_id   bigint,
    highest_one_time_id bigint,
    highest_kem_id      bigint,
    PRIMARY KEY (app_id, user_id, device_id)
);
CREATE TABLE signed_prekeys (
    app_id      bytea NOT NULL,
    user_id     bytea NOT NULL,
    device_id   bigint NOT NULL,
    key_id      bigint NOT NULL,
    created_at  bigint NOT NULL,
    public      bytea NOT NULL,
    signature   bytea NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id),
    FOREIGN KEY (app_id, user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE TABLE last_resort_prekeys (
    app_id      bytea NOT NULL,
    user_id     bytea NOT NULL,
    device_id   bigint NOT NULL,
    key_id      bigint NOT NULL,
    created_at  bigint NOT NULL,
    public      bytea NOT NULL,
    signature   bytea NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id),
    FOREIGN KEY (app_id, user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE TABLE one_time_prekeys (
    app_id      bytea NOT NULL,
    user_id     bytea NOT NULL,
    device_id   bigint NOT NULL,
    key_id      bigint NOT NULL,
    public      bytea NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id, key_id),
    FOREIGN KEY (app_id, user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE TABLE kem_prekeys (
    app_id      bytea NOT NULL,
    user_id     bytea NOT NULL,
    device_id   bigint NOT NULL,
    key_id      bigint NOT NULL,
    created_at  bigint NOT NULL,
    public      bytea NOT NULL,
    signature   bytea NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id, key_id),
    FOREIGN KEY (app_id, user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE TABLE retired_identities (
    app_id              bytea NOT NULL,
    user_id             bytea NOT NULL,
    device_id           bigint NOT NULL,
    identity_key        bytea NOT NULL,
    highest_signed_id   bigint,
    highest_one_time_id bigint,
    highest_kem_id      bigint,
    PRIMARY KEY (app_id, user_id, device_id, identity_key)
);
CREATE TABLE device_lists (
    app_id       bytea NOT NULL,
    user_id      bytea NOT NULL,
    list_version bytea NOT NULL,
    encoding     bytea NOT NULL,
    PRIMARY KEY (app_id, user_id, list_version)
);
";

/// Migration 2: the takes' records, so that a take whose commit was not
/// answered can be looked up (see `handed_out.rs`). `directory_instances`
/// gives each opened directory a number of its own; a take's request id
/// is that number and a counter. A `handed_out` row is a take that
/// consumed a key, with the whole bundle it returned (so that it can be
/// returned again), or a fence (every bundle column `NULL`): a request
/// that recovery found not committed, which its own statement, if it
/// still runs, can then no longer record. `taken_at` is the database's
/// clock in Unix seconds; rows older than `POSTGRES_HANDED_OUT_KEEP` are
/// pruned, through the `taken_at` index.
const MIGRATION_2: &str = "
CREATE SEQUENCE directory_instances;
CREATE TABLE handed_out (
    app_id            bytea NOT NULL,
    user_id           bytea NOT NULL,
    device_id         bigint NOT NULL,
    instance_id       bigint NOT NULL,
    request_id        bigint NOT NULL,
    taken_at          bigint NOT NULL DEFAULT (CAST(extract(epoch FROM now()) AS bigint)),
    identity_key      bytea,
    signed_id         bigint,
    signed_created_at bigint,
    signed_public     bytea,
    signed_signature  bytea,
    kem_id            bigint,
    kem_created_at    bigint,
    kem_public        bytea,
    kem_signature     bytea,
    kem_last_resort   boolean,
    one_time_id       bigint,
    one_time_public   bytea,
    one_time_left     bigint,
    kem_left          bigint,
    PRIMARY KEY (app_id, user_id, device_id, instance_id, request_id)
);
CREATE INDEX handed_out_taken_at ON handed_out (taken_at);
";

/// The migrations, in order: migration `i` (from 0) brings the schema
/// from version `i` to `i + 1`.
const MIGRATIONS: [&str; POSTGRES_SCHEMA_VERSION as usize] = [MIGRATION_1, MIGRATION_2];

/// Brings the database to [`POSTGRES_SCHEMA_VERSION`] in one transaction:
/// creates `schema_version` if it is missing, locks its row (so that two
/// servers opening a new database at once migrate it once), applies the
/// missing migrations and records the new version; accepts the current
/// version as it is and refuses a newer one.
pub(super) fn prepare(client: &mut Client) -> crate::Result<()> {
    let mut tx = client.transaction().map_err(db("schema_version"))?;
    // Two servers creating `schema_version` at once: the loser's CREATE
    // fails on the catalog's unique index; it runs again (as busy) and
    // then finds the table.
    let racing = |e: postgres::Error| -> crate::Error {
        let lost_race = e
            .code()
            .is_some_and(|c| *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_TABLE);
        if lost_race {
            StorageError::Busy.into()
        } else {
            storage_error(&e).into()
        }
    };
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             id      integer PRIMARY KEY CHECK (id = 1),
             version bigint NOT NULL
         );
         INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    )
    .map_err(racing)?;
    let row = tx
        .query_one(
            "SELECT version FROM schema_version WHERE id = 1 FOR UPDATE",
            &[],
        )
        .map_err(db("schema_version"))?;
    let found: i64 = get(&row, 0, "schema_version")?;
    let found = u32::try_from(found).map_err(|_| invalid("schema_version"))?;
    if found > POSTGRES_SCHEMA_VERSION {
        return Err(StorageError::UnsupportedSchema {
            expected: POSTGRES_SCHEMA_VERSION,
            found,
        }
        .into());
    }
    let missing = MIGRATIONS.get(found as usize..).unwrap_or_default();
    if !missing.is_empty() {
        for sql in missing {
            tx.batch_execute(sql).map_err(db("schema_version"))?;
        }
        tx.execute(
            "UPDATE schema_version SET version = $1 WHERE id = 1",
            &[&i64::from(POSTGRES_SCHEMA_VERSION)],
        )
        .map_err(db("schema_version"))?;
    }
    tx.commit().map_err(db("schema_version"))?;
    Ok(())
}
