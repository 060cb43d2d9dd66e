//! Exactly-once hand-out under heavy concurrency, against every directory:
//! thousands of `take_bundle` calls from many threads at once never hand
//! out a one-time prekey twice and never lose one, the counts they report
//! are linearizable, and the directory then falls back to the last-resort
//! ML-KEM prekey. The same with uploads racing the takers.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;

use chacha20::ChaCha20Rng;
use kinseal::server::{
    DeviceAddress, MemoryDirectory, PreKeyCounts, PreKeyDirectory, PreKeyUpload, TakenBundle,
};
use kinseal::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, PreKeyBundle, SignedPreKeyPair};
use rand_core::SeedableRng;

pub(crate) const THREADS: usize = 8;
pub(crate) const CALLS_PER_THREAD: usize = 500;
/// One-time X25519 prekeys the device uploads (ids 1..=2000), in batches of 100.
pub(crate) const ONE_TIME: u32 = 2_000;
/// One-time ML-KEM prekeys the device uploads (ids 2..=51; 1 is last-resort).
/// Fewer than the X25519 ones because each costs a signature check, slow
/// in debug builds; the property checked is the same.
pub(crate) const KEM: u32 = 50;
const LAST_RESORT_ID: u32 = 1;
const NOW: u64 = 1_767_225_600;

/// A device's identity and its uploads, as bytes, made once per test binary
/// (ML-KEM key generation is slow in debug builds).
pub(crate) struct Fixture {
    pub(crate) identity: IdentityKeyPair,
    /// Signed prekey, last-resort key and the one-time ML-KEM keys.
    first: Vec<u8>,
    /// Signed prekey and last-resort key only.
    pub(crate) minimal: Vec<u8>,
    /// The one-time X25519 keys, 100 per upload.
    pub(crate) batches: Vec<Vec<u8>>,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let identity = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, NOW);
        let last_resort = KemPreKeyPair::generate(&mut rng, &identity, LAST_RESORT_ID, true, NOW);
        let kem = KemPreKeyPair::generate_batch(&mut rng, &identity, 2, KEM as usize, NOW).unwrap();
        let first = PreKeyUpload::builder(&identity)
            .signed_prekey(spk.public())
            .last_resort_prekey(last_resort.public())
            .kem_prekeys(kem.iter().map(KemPreKeyPair::public))
            .to_bytes()
            .unwrap();
        let minimal = PreKeyUpload::builder(&identity)
            .signed_prekey(spk.public())
            .last_resort_prekey(last_resort.public())
            .to_bytes()
            .unwrap();
        let one_time = OneTimePreKeyPair::generate_batch(&mut rng, 1, ONE_TIME as usize).unwrap();
        let batches = one_time
            .chunks(100)
            .map(|chunk| {
                PreKeyUpload::builder(&identity)
                    .one_time_prekeys(chunk.iter().map(OneTimePreKeyPair::public))
                    .to_bytes()
                    .unwrap()
            })
            .collect();
        Fixture {
            identity,
            first,
            minimal,
            batches,
        }
    })
}

pub(crate) fn address() -> DeviceAddress {
    DeviceAddress::new(b"chirp", b"bob", 1).unwrap()
}

/// Registers the device and uploads everything.
pub(crate) fn provision(dir: &dyn PreKeyDirectory) {
    let f = fixture();
    dir.register(&address(), f.identity.public_key()).unwrap();
    dir.upload(&address(), &f.first).unwrap();
    for batch in &f.batches {
        dir.upload(&address(), batch).unwrap();
    }
    let counts = dir.device(&address()).unwrap().counts();
    assert_eq!(
        (counts.one_time(), counts.kem()),
        (ONE_TIME as usize, KEM as usize)
    );
}

/// What one `take_bundle` call got: the one-time ids and the counts after.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Took {
    pub(crate) one_time: Option<u32>,
    kem: u32,
    last_resort: bool,
    remaining: PreKeyCounts,
}

impl Took {
    pub(crate) fn of(t: &TakenBundle) -> Took {
        Took {
            one_time: t.prekey_ids().one_time_prekey_id(),
            kem: t.prekey_ids().kem_prekey_id(),
            last_resort: t.used_last_resort(),
            remaining: t.remaining(),
        }
    }
}

/// `THREADS` threads, released together, each calling `take_bundle`
/// `CALLS_PER_THREAD` times on the directory `open` gives it.
pub(crate) fn hammer<F>(open: F) -> Vec<Took>
where
    F: Fn() -> Arc<dyn PreKeyDirectory> + Send + Sync + 'static,
{
    let open = Arc::new(open);
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let open = Arc::clone(&open);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let dir = open();
                let address = address();
                start.wait();
                (0..CALLS_PER_THREAD)
                    .map(|_| Took::of(&dir.take_bundle(&address).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

/// Every one-time key handed out exactly once, none lost, the counts each
/// call reported consistent with one order of the calls, then fallback.
pub(crate) fn check_exactly_once(dir: &dyn PreKeyDirectory, took: &[Took]) {
    assert_eq!(took.len(), THREADS * CALLS_PER_THREAD);

    let mut one_time: BTreeMap<u32, usize> = BTreeMap::new();
    let mut kem: BTreeMap<u32, usize> = BTreeMap::new();
    let mut last_resort = 0;
    for t in took {
        if let Some(id) = t.one_time {
            *one_time.entry(id).or_default() += 1;
        }
        if t.last_resort {
            assert_eq!(t.kem, LAST_RESORT_ID);
            last_resort += 1;
        } else {
            *kem.entry(t.kem).or_default() += 1;
        }
    }
    let duplicates = one_time
        .values()
        .chain(kem.values())
        .filter(|n| **n > 1)
        .count();
    assert_eq!(duplicates, 0, "a one-time prekey was handed out twice");
    let expected_one_time: Vec<u32> = (1..=ONE_TIME).collect();
    let expected_kem: Vec<u32> = (2..=KEM + 1).collect();
    assert_eq!(
        one_time.keys().copied().collect::<Vec<_>>(),
        expected_one_time
    );
    assert_eq!(kem.keys().copied().collect::<Vec<_>>(), expected_kem);
    assert_eq!(last_resort, took.len() - KEM as usize);

    // Linearizable counts: the calls that got a one-time key reported every
    // count from 1999 down to 0 exactly once; the others reported 0.
    let mut reported: Vec<usize> = took
        .iter()
        .filter(|t| t.one_time.is_some())
        .map(|t| t.remaining.one_time())
        .collect();
    reported.sort_unstable();
    assert_eq!(reported, (0..ONE_TIME as usize).collect::<Vec<_>>());
    assert!(
        took.iter()
            .filter(|t| t.one_time.is_none())
            .all(|t| t.remaining.one_time() == 0)
    );
    let mut reported: Vec<usize> = took
        .iter()
        .filter(|t| !t.last_resort)
        .map(|t| t.remaining.kem())
        .collect();
    reported.sort_unstable();
    assert_eq!(reported, (0..KEM as usize).collect::<Vec<_>>());

    // Nothing left but the reusable keys; the next bundle falls back.
    let info = dir.device(&address()).unwrap();
    assert_eq!((info.counts().one_time(), info.counts().kem()), (0, 0));
    let next = dir.take_bundle(&address()).unwrap();
    assert!(next.bundle().one_time_prekey().is_none());
    assert!(next.used_last_resort());
    PreKeyBundle::from_bytes(&next.to_bytes())
        .unwrap()
        .verify()
        .unwrap();
    eprintln!(
        "{} calls on {THREADS} threads: {} one-time X25519 and {} one-time ML-KEM prekeys \
         handed out once each, {duplicates} duplicates, {last_resort} last-resort fallbacks",
        took.len(),
        one_time.len(),
        kem.len(),
    );
}

/// Uploads racing the takers: `THREADS - 1` takers drain the device while
/// one thread uploads the remaining batches. Every key uploaded is handed
/// out once or still held at the end; none twice.
pub(crate) fn race_uploads<D: PreKeyDirectory + Sync>(dir: &D) {
    let f = fixture();
    dir.register(&address(), f.identity.public_key()).unwrap();
    dir.upload(&address(), &f.minimal).unwrap();
    dir.upload(&address(), &f.batches[0]).unwrap();
    let start = Barrier::new(THREADS);
    let took: Vec<Took> = thread::scope(|s| {
        let uploader = s.spawn(|| {
            start.wait();
            for batch in &f.batches[1..] {
                dir.upload(&address(), batch).unwrap();
            }
        });
        let takers: Vec<_> = (1..THREADS)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    (0..200)
                        .map(|_| Took::of(&dir.take_bundle(&address()).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        uploader.join().unwrap();
        takers.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for id in took.iter().filter_map(|t| t.one_time) {
        *seen.entry(id).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a one-time prekey was handed out twice"
    );
    let held = dir.device(&address()).unwrap().counts().one_time();
    assert_eq!(
        seen.len() + held,
        ONE_TIME as usize,
        "a one-time prekey was lost"
    );
}

#[test]
fn memory_directory_hands_out_each_one_time_prekey_once() {
    let dir = Arc::new(MemoryDirectory::new());
    provision(dir.as_ref());
    let shared = Arc::clone(&dir);
    let took = hammer(move || shared.clone());
    check_exactly_once(dir.as_ref(), &took);
}

#[test]
fn memory_directory_with_racing_uploads() {
    race_uploads(&MemoryDirectory::new());
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use super::*;
    use kinseal::server::SqliteDirectory;
    use std::path::PathBuf;

    /// A fresh directory for one database file, removed on drop.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(name: &str) -> TempDir {
            let path = std::env::temp_dir().join(format!(
                "kinseal-{name}-{}-{:?}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        pub(crate) fn db(&self) -> PathBuf {
            self.0.join("directory.sqlite")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// One `SqliteDirectory` (one connection) shared by every thread.
    #[test]
    fn sqlite_directory_shared_connection_hands_out_each_one_time_prekey_once() {
        let tmp = TempDir::new("shared");
        let dir = Arc::new(SqliteDirectory::open(tmp.db()).unwrap());
        provision(dir.as_ref());
        let shared = Arc::clone(&dir);
        let took = hammer(move || shared.clone());
        check_exactly_once(dir.as_ref(), &took);
    }

    /// Every thread opens its own connection to the same file, as separate
    /// server processes would: only SQLite's transactions keep the keys apart.
    #[test]
    fn sqlite_directory_one_connection_per_thread_hands_out_each_one_time_prekey_once() {
        let tmp = TempDir::new("per-thread");
        let path = tmp.db();
        let dir = SqliteDirectory::open(&path).unwrap();
        provision(&dir);
        let took = hammer(move || Arc::new(SqliteDirectory::open(&path).unwrap()));
        check_exactly_once(&dir, &took);
    }

    #[test]
    fn sqlite_directory_with_racing_uploads() {
        let tmp = TempDir::new("race");
        race_uploads(&SqliteDirectory::open(tmp.db()).unwrap());
    }
}
