//! The Rust side of the binding-overhead measurement (bench/overhead.py
//! is the Python side): encrypt and decrypt of 100 B between two
//! in-memory accounts, through the same wrapper methods the foreign code
//! calls, so the difference is the FFI crossing and the foreign
//! language's own work. `cargo run --release --example overhead`.

use std::time::Instant;

use kinseal_ffi::{Account, DeviceAddress, Directory, KinsealError, UserAddress};

const NOW: u64 = 1_767_225_600;
const N: u32 = 20_000;

fn address(user: &[u8]) -> DeviceAddress {
    DeviceAddress {
        app_id: b"chirp".to_vec(),
        user_id: user.to_vec(),
        device_id: 1,
    }
}

fn online(directory: &Directory, account: &Account) -> Result<(), KinsealError> {
    let me = account.address();
    directory.register(me.clone(), account.identity_key())?;
    if let Some(upload) = account.refresh_prekeys(NOW, None)? {
        directory.upload(me.clone(), upload)?;
    }
    let user = UserAddress {
        app_id: me.app_id,
        user_id: me.user_id,
    };
    directory.publish_device_list(user, account.device_list()?.bytes)
}

fn main() -> Result<(), KinsealError> {
    let directory = Directory::open_in_memory()?;
    let alice = Account::create_in_memory(address(b"alice"), NOW, None, None)?;
    let bob = Account::create_in_memory(address(b"bob"), NOW, None, None)?;
    online(&directory, &alice)?;
    online(&directory, &bob)?;
    alice.update_device_lists(vec![bob.device_list()?.bytes], NOW)?;
    bob.update_device_lists(vec![alice.device_list()?.bytes], NOW)?;
    alice.start_session(bob.address(), directory.take_bundle(bob.address())?, NOW)?;
    let first = alice.encrypt(bob.address(), b"hi".to_vec(), NOW)?;
    bob.decrypt(alice.address(), first, NOW)?;
    // Bob answers, so Alice's messages are same-chain ones, not PreKeyMessages.
    let reply = bob.encrypt(alice.address(), b"hi".to_vec(), NOW)?;
    alice.decrypt(bob.address(), reply, NOW)?;
    let text = vec![7u8; 100];
    let (to_bob, to_alice) = (bob.address(), alice.address());
    let us = |s: f64| s * 1e6 / f64::from(N);

    // Through the account, with the address as a record on every call.
    let (mut encrypt, mut decrypt) = (0.0, 0.0);
    for _ in 0..N {
        let t = Instant::now();
        let m = alice.encrypt(to_bob.clone(), text.clone(), NOW)?;
        encrypt += t.elapsed().as_secs_f64();
        let t = Instant::now();
        bob.decrypt(to_alice.clone(), m, NOW)?;
        decrypt += t.elapsed().as_secs_f64();
    }
    println!(
        "rust account: encrypt {:.2} us, decrypt {:.2} us (100 B, {N} calls)",
        us(encrypt),
        us(decrypt)
    );

    // Through `Peer` objects, made once.
    let (alice_bob, bob_alice) = (alice.clone().peer(to_bob)?, bob.clone().peer(to_alice)?);
    let (mut encrypt, mut decrypt) = (0.0, 0.0);
    for _ in 0..N {
        let t = Instant::now();
        let m = alice_bob.encrypt(&text, NOW)?;
        encrypt += t.elapsed().as_secs_f64();
        let t = Instant::now();
        bob_alice.decrypt(&m, NOW)?;
        decrypt += t.elapsed().as_secs_f64();
    }
    println!(
        "rust peer: encrypt {:.2} us, decrypt {:.2} us (100 B, {N} calls)",
        us(encrypt),
        us(decrypt)
    );
    Ok(())
}
