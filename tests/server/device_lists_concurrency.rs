//! Publishing device lists under concurrency, against every directory:
//! threads released together, each publishing a different list of the
//! same version after the same latest, never both win: exactly one is
//! stored and every other is refused as a fork of that version. Threads
//! publishing the same list store it once. Nothing here depends on timing:
//! whatever the interleaving, the outcome is the same.

use std::sync::{Arc, Barrier};
use std::thread;

use kinseal::Error;
use kinseal::server::{
    DeviceList, DeviceListError, DeviceListUpdate, MemoryDirectory, PreKeyDirectory,
    VerifiedDeviceList,
};

use crate::device_lists::alice;
use crate::directory::NOW;

const THREADS: usize = 8;
const ROUNDS: u64 = 12;

/// What each thread got from publishing its list.
type Outcome = (Vec<u8>, kinseal::Result<DeviceListUpdate>);

/// `THREADS` threads, released together, each publishing `lists[i]` on the
/// directory `open` gives it.
fn race<F>(open: &Arc<F>, lists: &[VerifiedDeviceList]) -> Vec<Outcome>
where
    F: Fn() -> Arc<dyn PreKeyDirectory> + Send + Sync + 'static,
{
    let start = Arc::new(Barrier::new(lists.len()));
    let handles: Vec<_> = lists
        .iter()
        .map(|list| {
            let (open, start, bytes) = (Arc::clone(open), Arc::clone(&start), list.to_bytes());
            thread::spawn(move || {
                let dir = open();
                start.wait();
                let outcome = dir.publish_device_list(&alice().address, &bytes);
                (bytes, outcome)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Rounds of racing forks: each round, `THREADS` different successors of
/// the latest list; then `THREADS` copies of one successor.
fn forks_never_both_win<F>(open: F)
where
    F: Fn() -> Arc<dyn PreKeyDirectory> + Send + Sync + 'static,
{
    let f = alice();
    let open = Arc::new(open);
    let dir = open();
    let mut latest = f.chain[0].clone();
    dir.publish_device_list(&f.address, &latest.to_bytes())
        .unwrap();
    let mut expected_history = vec![latest.to_bytes()];
    for round in 0..ROUNDS {
        let version = latest.version() + 1;
        let lists: Vec<VerifiedDeviceList> = (0..THREADS as u64)
            .map(|i| {
                let devices = [(1, f.chain[0].device(1).unwrap().identity_key(), NOW)];
                let created_at = NOW + round * 100 + i;
                latest.next(&f.user, created_at, devices).unwrap()
            })
            .collect();
        let outcomes = race(&open, &lists);
        let winners: Vec<&Vec<u8>> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Ok(DeviceListUpdate::Advanced { .. })))
            .map(|(bytes, _)| bytes)
            .collect();
        let results: Vec<_> = outcomes.iter().map(|(_, o)| o).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let forks = outcomes
            .iter()
            .filter(|(_, o)| *o == Err(Error::DeviceList(DeviceListError::Fork { version })))
            .count();
        assert_eq!(forks, THREADS - 1, "round {round}: {results:?}");
        let winner = winners[0].clone();
        assert_eq!(dir.device_list(&f.address).unwrap(), Some(winner.clone()));
        latest = DeviceList::from_bytes(&winner).unwrap().verify().unwrap();
        expected_history.push(winner);
    }
    assert_eq!(
        dir.device_lists_since(&f.address, 0).unwrap(),
        expected_history
    );

    // The same list from every thread: stored once, the rest unchanged.
    let next = latest.next(
        &f.user,
        NOW,
        f.chain[0]
            .devices()
            .map(|d| (d.device_id(), d.identity_key(), d.added_at())),
    );
    let next = next.unwrap();
    let outcomes = race(&open, &vec![next.clone(); THREADS]);
    let advanced = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Ok(DeviceListUpdate::Advanced { .. })))
        .count();
    let unchanged = outcomes
        .iter()
        .filter(|(_, o)| *o == Ok(DeviceListUpdate::Unchanged))
        .count();
    assert_eq!((advanced, unchanged), (1, THREADS - 1));
    expected_history.push(next.to_bytes());
    assert_eq!(
        dir.device_lists_since(&f.address, 0).unwrap(),
        expected_history
    );
    eprintln!(
        "{ROUNDS} rounds of {THREADS} racing forks: one winner each, {} refused as forks",
        ROUNDS as usize * (THREADS - 1)
    );
}

#[test]
fn memory_directory_stores_one_of_racing_forks() {
    let dir = Arc::new(MemoryDirectory::new());
    forks_never_both_win(move || dir.clone());
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use crate::directory_concurrency::sqlite::TempDir;
    use kinseal::server::SqliteDirectory;

    /// One connection shared by every thread.
    #[test]
    fn sqlite_directory_shared_connection_stores_one_of_racing_forks() {
        let tmp = TempDir::new("lists-shared");
        let dir = Arc::new(SqliteDirectory::open(tmp.db()).unwrap());
        forks_never_both_win(move || dir.clone());
    }

    /// A connection per thread, as separate server processes would have:
    /// only SQLite's transactions keep the forks apart.
    #[test]
    fn sqlite_directory_one_connection_per_thread_stores_one_of_racing_forks() {
        let tmp = TempDir::new("lists-per-thread");
        let path = tmp.db();
        drop(SqliteDirectory::open(&path).unwrap());
        forks_never_both_win(move || Arc::new(SqliteDirectory::open(&path).unwrap()));
        drop(tmp);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use kinseal::server::PostgresDirectory;

    /// One pool shared by every thread.
    #[test]
    fn postgres_directory_one_pool_stores_one_of_racing_forks() {
        let Some(params) = crate::pg::fresh_schema(module_path!(), "lists_one_pool") else {
            return;
        };
        let dir = Arc::new(PostgresDirectory::connect(&params).unwrap());
        forks_never_both_win(move || dir.clone());
    }

    /// A pool per thread, as separate server processes would have: only
    /// the lock on the user's row keeps the forks apart.
    #[test]
    fn postgres_directory_pool_per_thread_stores_one_of_racing_forks() {
        let Some(params) = crate::pg::fresh_schema(module_path!(), "lists_pool_per_thread") else {
            return;
        };
        drop(PostgresDirectory::connect(&params).unwrap());
        forks_never_both_win(move || Arc::new(PostgresDirectory::connect(&params).unwrap()));
    }
}
