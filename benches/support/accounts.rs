//! Accounts for the benchmarks that measure the client layer
//! (`benches/client.rs`, `benches/queue.rs`, and `benches/peer`'s memory
//! count): one storage key, one clock, accounts registered with a
//! directory with their prekeys published, device lists exchanged.

use std::path::PathBuf;

use kinseal::OsRng;
use kinseal::client::{
    Account, AccountConfig, ClientStore, DeviceAddress, StorageKey, StorageKeyring,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};

/// The benchmarks' clock.
pub(crate) const NOW: u64 = 1_767_225_600;

/// Every benchmark account's storage key.
pub(crate) fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[9; 32]))
}

/// A SQLite file in the temporary folder, removed if it was there.
#[allow(dead_code, reason = "the memory count opens no SQLite file")]
pub(crate) fn temp_db(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "kinseal-bench-{}-{name}.sqlite",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// An account at `at` on `store` with `config`, registered with `dir`,
/// with the prekeys `config` asks for published.
pub(crate) fn account_with<S: ClientStore>(
    dir: &MemoryDirectory,
    at: &DeviceAddress,
    store: S,
    config: AccountConfig,
) -> Account<S> {
    let account = Account::create(store, keyring(), &mut OsRng, at, NOW)
        .unwrap()
        .with_config(config);
    dir.register(at, account.identity_key()).unwrap();
    let update = account.refresh_prekeys(&mut OsRng, NOW, None).unwrap();
    dir.upload(at, &account.upload_bytes(&update).unwrap())
        .unwrap();
    account
}

/// Each account learns the other's device list, as from a directory.
pub(crate) fn introduce<S: ClientStore, T: ClientStore>(a: &Account<S>, b: &Account<T>) {
    let (la, lb) = (
        a.device_list().unwrap().to_bytes(),
        b.device_list().unwrap().to_bytes(),
    );
    a.update_device_lists(&mut OsRng, &[lb], NOW).unwrap();
    b.update_device_lists(&mut OsRng, &[la], NOW).unwrap();
}

/// Alice (at `a`) starts a session with Bob (at `b`) from the bundle
/// `dir` hands out, and each sends the other one message: an answered
/// session on both sides. Both must already know each other's lists.
#[allow(dead_code, reason = "the queue benchmark sets its sessions up itself")]
pub(crate) fn converse<S: ClientStore, T: ClientStore>(
    dir: &MemoryDirectory,
    alice: &Account<S>,
    a: &DeviceAddress,
    bob: &Account<T>,
    b: &DeviceAddress,
) {
    let bundle = dir.take_bundle(b).unwrap().into_bundle().verify().unwrap();
    alice.start_session(&mut OsRng, b, &bundle, NOW).unwrap();
    let first = alice.encrypt(&mut OsRng, b, b"hi", NOW).unwrap();
    bob.decrypt(&mut OsRng, a, &first, NOW).unwrap();
    let reply = bob.encrypt(&mut OsRng, a, b"hi", NOW).unwrap();
    alice.decrypt(&mut OsRng, b, &reply, NOW).unwrap();
}
