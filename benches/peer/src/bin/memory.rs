//! The account's resident memory with 1 000 peer devices (issue 19): live
//! heap bytes counted by a global allocator, not timed. Run with
//! `cargo run --release -p kinseal-bench-peer --bin memory` (it prints a
//! table for PERFORMANCE.md).
//!
//! One account on a `MemoryStore` has an established session with each of
//! 1 000 peer devices (each peer replied once) and then sends one message
//! to each, so its session cache is full at its default size. Measured:
//! what dropping the account frees (the account itself: its keys, caches
//! and the decoded session sets it keeps) and what dropping the store
//! then frees (every sealed record), and the same account with the
//! session cache off, for the cache's share.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use kinseal::client::{
    Account, AccountConfig, DEFAULT_SESSION_CACHE, MemoryStore, StorageKey, StorageKeyring,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{DeviceAddress, OsRng};

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the
// counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as allocated above, with the same layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as allocated above, with the same layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const NOW: u64 = 1_767_225_600;
const PEERS: u32 = 1_000;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[9; 32]))
}

fn account(dir: &MemoryDirectory, at: &DeviceAddress) -> Account<Arc<MemoryStore>> {
    let config = AccountConfig::default()
        .with_one_time_prekey_target(1)
        .unwrap();
    let account = Account::create(Arc::new(MemoryStore::new()), keyring(), &mut OsRng, at, NOW)
        .unwrap()
        .with_config(config);
    dir.register(at, account.identity_key()).unwrap();
    let update = account.refresh_prekeys(&mut OsRng, NOW, None).unwrap();
    dir.upload(at, &account.upload_bytes(&update).unwrap())
        .unwrap();
    account
}

/// The store of an account with an established session with each of
/// `PEERS` devices, every peer gone.
fn populated() -> (Arc<MemoryStore>, DeviceAddress, Vec<DeviceAddress>) {
    let dir = MemoryDirectory::new();
    let a = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
    let store = Arc::new(MemoryStore::new());
    let alice = Account::create(store.clone(), keyring(), &mut OsRng, &a, NOW).unwrap();
    dir.register(&a, alice.identity_key()).unwrap();
    let alice_list = alice.device_list().unwrap().to_bytes();
    let mut peers = Vec::new();
    for i in 0..PEERS {
        let b = DeviceAddress::new(b"parley", format!("bob{i}").as_bytes(), 1).unwrap();
        let bob = account(&dir, &b);
        bob.update_device_lists(&mut OsRng, &[alice_list.clone()], NOW)
            .unwrap();
        alice
            .update_device_lists(&mut OsRng, &[bob.device_list().unwrap().to_bytes()], NOW)
            .unwrap();
        let bundle = dir.take_bundle(&b).unwrap().into_bundle().verify().unwrap();
        alice.start_session(&mut OsRng, &b, &bundle, NOW).unwrap();
        let first = alice.encrypt(&mut OsRng, &b, b"hi", NOW).unwrap();
        bob.decrypt(&mut OsRng, &a, &first, NOW).unwrap();
        let reply = bob.encrypt(&mut OsRng, &a, b"hi", NOW).unwrap();
        alice.decrypt(&mut OsRng, &b, &reply, NOW).unwrap();
        peers.push(b);
    }
    (store, a, peers)
}

/// Opens the account on `store` with `cache` session sets kept decoded,
/// sends 100 B to every peer, and returns the heap bytes dropping it frees
/// (the `Account` value itself is counted apart: it lives wherever the app
/// keeps it).
fn account_bytes(store: &Arc<MemoryStore>, peers: &[DeviceAddress], cache: usize) -> isize {
    let before = live();
    let alice = Account::open(store.clone(), keyring())
        .unwrap()
        .with_config(AccountConfig::default().with_session_cache(cache).unwrap());
    for b in peers {
        alice.encrypt(&mut OsRng, b, &[0x42; 100], NOW).unwrap();
    }
    let with = live();
    drop(alice);
    let after = live();
    assert!(
        after >= before - 4096,
        "the account freed more than it took"
    );
    with - after
}

fn main() {
    let (store, _alice, peers) = populated();
    let cached = account_bytes(&store, &peers, DEFAULT_SESSION_CACHE);
    let uncached = account_bytes(&store, &peers, 0);
    let records = store.export_records();
    let (count, sealed) = (
        records.len(),
        records.iter().map(|(_, v)| v.len()).sum::<usize>(),
    );
    drop(records);
    let before = live();
    drop(store);
    let store_bytes = before - live();
    let per_entry = (cached - uncached) / DEFAULT_SESSION_CACHE as isize;
    println!("| what | bytes |");
    println!("|---|---:|");
    println!(
        "| the account, session cache at its default ({DEFAULT_SESSION_CACHE} sets), after a message to each of {PEERS} peers | {cached} |"
    );
    println!("| the same account, session cache off | {uncached} |");
    println!(
        "| the `Account` value itself (inline, wherever the app keeps it) | {} |",
        std::mem::size_of::<Account<Arc<MemoryStore>>>()
    );
    println!("| one cached session set (the difference ÷ {DEFAULT_SESSION_CACHE}) | {per_entry} |");
    println!(
        "| the memory store: {count} sealed records ({sealed} bytes of them) | {store_bytes} |"
    );
}
