//! Fixtures for the client-layer tests: devices with accounts over
//! in-memory stores, registered with one in-memory directory.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use kinseal::OsRng;
use kinseal::client::{
    Account, AccountConfig, ClientStore, DeviceAddress, MemoryStore, StorageKey, StorageKeyring,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{LinkCode, LinkRequest, VerifiedBundle};

/// "Now" for the tests: 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;
pub const DAY: u64 = 24 * 60 * 60;
/// How many one-time prekeys of each kind test devices keep published.
pub const ONE_TIME_TARGET: usize = 4;

/// The storage keyring every test device uses.
pub fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[0x5a; 32]))
}

pub fn address(app: &str, user: &str, device: u32) -> DeviceAddress {
    DeviceAddress::new(app.as_bytes(), user.as_bytes(), device).unwrap()
}

/// A device: its address, its store and its account.
pub struct Device<S: ClientStore = Arc<MemoryStore>> {
    pub address: DeviceAddress,
    pub account: Account<S>,
}

/// The test devices' settings: a small one-time prekey target keeps the
/// tests fast (each ML-KEM key generation is expensive in a debug build).
pub fn config() -> AccountConfig {
    AccountConfig::default()
        .with_one_time_prekey_target(ONE_TIME_TARGET)
        .unwrap()
}

/// Creates an account over `store`, registers it and uploads its first prekeys.
pub fn register<S: ClientStore>(
    directory: &MemoryDirectory,
    address: DeviceAddress,
    store: S,
) -> Device<S> {
    register_with(directory, address, store, config())
}

/// A device that trusts peers without a device list on record device by
/// device, as accounts did before device lists: for the tests of that mode.
pub fn legacy_device(directory: &MemoryDirectory, app: &str, user: &str, id: u32) -> Device {
    register_with(
        directory,
        address(app, user, id),
        Arc::new(MemoryStore::new()),
        config().with_device_lists_required(false),
    )
}

/// As [`register`], with the given settings.
pub fn register_with<S: ClientStore>(
    directory: &MemoryDirectory,
    address: DeviceAddress,
    store: S,
    config: AccountConfig,
) -> Device<S> {
    let account = Account::create(store, keyring(), &mut OsRng, &address, NOW)
        .unwrap()
        .with_config(config);
    directory
        .register(&address, account.identity_key())
        .unwrap();
    publish(directory, &address, &account, NOW);
    Device { address, account }
}

/// Links a new device of `existing`'s user as device `id`, as the QR-code
/// flow does (PROTOCOL.md §13), registers it and uploads its prekeys.
pub fn link<S: ClientStore>(directory: &MemoryDirectory, existing: &Device<S>, id: u32) -> Device {
    let request = LinkRequest::new(&mut OsRng);
    let code = LinkCode::from_bytes(&request.code().to_bytes()).unwrap();
    let linked = existing
        .account
        .link_device(&mut OsRng, &code, id, NOW)
        .unwrap();
    let provisioned = request.open(linked.provisioning_message()).unwrap();
    let address = provisioned.device_address();
    let account = Account::create_linked(
        Arc::new(MemoryStore::new()),
        keyring(),
        &mut OsRng,
        provisioned,
        NOW,
    )
    .unwrap()
    .with_config(config());
    directory
        .register(&address, account.identity_key())
        .unwrap();
    publish(directory, &address, &account, NOW);
    Device { address, account }
}

/// Refreshes the account's prekeys against what the directory holds and uploads them.
pub fn publish<S: ClientStore>(
    directory: &MemoryDirectory,
    address: &DeviceAddress,
    account: &Account<S>,
    now: u64,
) {
    let counts = directory.device(address).unwrap().counts();
    let update = account
        .refresh_prekeys(&mut OsRng, now, Some(counts))
        .unwrap();
    if !update.is_empty() {
        directory
            .upload(address, &account.upload_bytes(&update).unwrap())
            .unwrap();
    }
}

/// A device over a fresh in-memory store.
pub fn device(directory: &MemoryDirectory, app: &str, user: &str, id: u32) -> Device {
    register(
        directory,
        address(app, user, id),
        Arc::new(MemoryStore::new()),
    )
}

/// Takes a bundle for `peer` from the directory and verifies it.
pub fn bundle(directory: &MemoryDirectory, peer: &DeviceAddress) -> VerifiedBundle {
    directory
        .take_bundle(peer)
        .unwrap()
        .into_bundle()
        .verify()
        .unwrap()
}

/// The bundle source an app's directory client would be: verified bundles
/// taken from `dir`.
pub fn fetch(
    dir: &MemoryDirectory,
) -> impl FnMut(&DeviceAddress) -> kinseal::Result<VerifiedBundle> {
    move |d: &DeviceAddress| dir.take_bundle(d)?.into_bundle().verify()
}

/// Gives `a` the latest device list of `b`'s user, as a directory would.
pub fn learn_list<S: ClientStore, T: ClientStore>(a: &Account<S>, b: &Account<T>) {
    let list = b.device_list().unwrap().to_bytes();
    a.update_device_lists(&mut OsRng, &[list], NOW).unwrap();
}

impl<S: ClientStore> Device<S> {
    /// Each device learns the other's device list (as both apps would from
    /// the directory before they talk).
    pub fn introduce(&self, peer: &Device<impl ClientStore>) {
        learn_list(&self.account, &peer.account);
        learn_list(&peer.account, &self.account);
    }

    /// Starts a session with `peer` from a fresh bundle (after both learned
    /// each other's device list).
    pub fn start(&self, directory: &MemoryDirectory, peer: &Device<impl ClientStore>) {
        // Devices of the mode without lists (`legacy_device`) publish none.
        if self.account.config().device_lists_required()
            && peer.account.config().device_lists_required()
        {
            self.introduce(peer);
        }
        self.account
            .start_session(
                &mut OsRng,
                &peer.address,
                &bundle(directory, &peer.address),
                NOW,
            )
            .unwrap();
    }

    pub fn send(&self, to: &Device<impl ClientStore>, text: &str) -> Vec<u8> {
        self.account
            .encrypt(&mut OsRng, &to.address, text.as_bytes(), NOW)
            .unwrap()
    }

    pub fn receive(
        &self,
        from: &Device<impl ClientStore>,
        bytes: &[u8],
    ) -> kinseal::Result<Vec<u8>> {
        self.account
            .decrypt(&mut OsRng, &from.address, bytes, NOW)
            .map(|d| d.into_plaintext())
    }

    pub fn current(&self, peer: &Device<impl ClientStore>) -> Option<kinseal::HandshakeId> {
        self.account.current_session_id(&peer.address).unwrap()
    }
}
