//! The one mapping from SQLite's errors to [`StorageError`], shared by the
//! server's prekey directory and the client's store.

use rusqlite::ErrorCode;

use crate::StorageError;

/// Maps a rusqlite error, keeping no rusqlite type: engine failures by
/// their result code, unreadable columns as an invalid record of `table`.
pub(crate) fn storage_error(table: &'static str, e: &rusqlite::Error) -> StorageError {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StorageError::Busy,
            ErrorCode::DiskFull => StorageError::Full,
            ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly => StorageError::Io,
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StorageError::Corrupt,
            _ => StorageError::Backend {
                code: f.extended_code,
            },
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StorageError::InvalidRecord { table },
        _ => StorageError::Backend { code: -1 },
    }
}
