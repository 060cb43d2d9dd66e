//! What the server's prekey directory and the client's store share about
//! SQLite: the one mapping from its errors to [`StorageError`], opening a
//! file that other connections may be creating at the same moment, and
//! (for their unit tests) a database file that removes itself.

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

/// How long [`open_retrying`] pauses before opening again.
const OPEN_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Runs `open` until it succeeds, fails with something other than
/// [`StorageError::Busy`] (as `busy` tells), or `timeout` has passed.
///
/// Connections opening a new file at the same moment race to switch it to
/// WAL, and SQLite reports the loser busy at once, without calling its
/// busy handler (waiting there could deadlock); opening again succeeds.
pub(crate) fn open_retrying<T, E>(
    timeout: std::time::Duration,
    busy: impl Fn(&E) -> bool,
    mut open: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match open() {
            Err(e) if busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(OPEN_RETRY_PAUSE);
            }
            result => return result,
        }
    }
}

/// A database path in the temporary directory, unique within the process,
/// removed (with its `-wal` and `-shm` files) when dropped.
#[cfg(test)]
pub(crate) struct TempFile(pub(crate) std::path::PathBuf);

#[cfg(test)]
impl TempFile {
    pub(crate) fn new(name: &str) -> TempFile {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("kinseal-unit-{name}-{}-{n}.db", std::process::id()));
        let file = TempFile(path);
        file.clean();
        file
    }

    fn clean(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
impl Drop for TempFile {
    fn drop(&mut self) {
        self.clean();
    }
}
