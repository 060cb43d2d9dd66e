//! Device lists in the directory, on every implementation: publishing a
//! chain, every refusal (garbage, another user, another user key, a
//! rollback, a fork, a gap) changing nothing, the reset that replaces a
//! history, the history bound, byte-exact returns, versions past
//! `i64::MAX`, and (SQLite) a history that survives reopening the file.

use std::sync::OnceLock;

use kinseal::server::{
    DeviceList, DeviceListError, DeviceListUpdate, MAX_DEVICE_LIST_HISTORY, MemoryDirectory,
    PreKeyDirectory, UserAddress, VerifiedDeviceList,
};
use kinseal::{
    DecodeError, Error, IdentityKey, IdentityKeyPair, ProtocolError, SignedObject,
    UserIdentityKeyPair, WireType,
};

use crate::directory::{NOW, on_every_directory, outside, rng};

/// Lists published in the bound test: six more than the directory keeps.
const CHAIN_LEN: usize = MAX_DEVICE_LIST_HISTORY + 6;

/// One user's chain of lists, and everything the refusals need.
pub(crate) struct Fixture {
    pub(crate) address: UserAddress,
    pub(crate) user: UserIdentityKeyPair,
    keys: Vec<IdentityKeyPair>,
    /// Versions 1 ..= CHAIN_LEN: `chain[i]` is version i + 1.
    pub(crate) chain: Vec<VerifiedDeviceList>,
}

impl Fixture {
    fn key(&self, i: usize) -> &IdentityKey {
        self.keys[i].public_key()
    }

    /// Version 1 lists device 1; version k > 1 lists device 1 and one
    /// other, so that consecutive versions differ.
    fn devices(&self, version: usize) -> Vec<(u32, &IdentityKey, u64)> {
        let mut set = vec![(1, self.key(0), NOW)];
        if version > 1 {
            let other = 2 + version % 14;
            set.push((other as u32, self.key(other), NOW + version as u64));
        }
        set
    }

    /// Another list of `version` (≥ 2) following the same list as
    /// `chain[version - 1]` does, with other devices: a fork.
    fn fork(&self, version: usize, seed: u64) -> VerifiedDeviceList {
        let before = &self.chain[version - 2];
        let devices = vec![(1, self.key(0), NOW), (99, self.key(15), seed)];
        before.next(&self.user, NOW + seed, devices).unwrap()
    }
}

pub(crate) fn alice() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(41);
        let mut f = Fixture {
            address: UserAddress::new(b"chirp", b"alice").unwrap(),
            user: UserIdentityKeyPair::generate(&mut r),
            keys: (0..16).map(|_| IdentityKeyPair::generate(&mut r)).collect(),
            chain: Vec::new(),
        };
        let mut list = DeviceList::first(&f.user, &f.address, NOW, f.devices(1)).unwrap();
        let mut chain = vec![list.clone()];
        for version in 2..=CHAIN_LEN {
            list = list.next(&f.user, NOW, f.devices(version)).unwrap();
            chain.push(list.clone());
        }
        f.chain = chain;
        f
    })
}

fn v(version: usize) -> &'static VerifiedDeviceList {
    &alice().chain[version - 1]
}

/// A first list for alice's address under another user key (seed).
fn other_key_list(seed: u8) -> (UserIdentityKeyPair, VerifiedDeviceList) {
    let f = alice();
    let user = UserIdentityKeyPair::generate(&mut rng(seed));
    let list = DeviceList::first(&user, &f.address, NOW, [(7, f.key(3), NOW)]).unwrap();
    (user, list)
}

fn list_err(e: Error) -> DeviceListError {
    match e {
        Error::DeviceList(d) => d,
        other => panic!("expected a device list error, got {other:?}"),
    }
}

fn publish(
    dir: &dyn PreKeyDirectory,
    list: &VerifiedDeviceList,
) -> kinseal::Result<DeviceListUpdate> {
    dir.publish_device_list(&alice().address, &list.to_bytes())
}

/// What the directory holds for alice: every list since version 0.
fn history(dir: &dyn PreKeyDirectory) -> Vec<Vec<u8>> {
    dir.device_lists_since(&alice().address, 0).unwrap()
}

fn ids(update: &DeviceListUpdate) -> (Vec<u32>, Vec<u32>, usize) {
    match update {
        DeviceListUpdate::Advanced {
            added,
            removed,
            replaced,
        } => (
            added.iter().map(|d| d.device_id()).collect(),
            removed.iter().map(|d| d.device_id()).collect(),
            replaced.len(),
        ),
        other => panic!("expected an advance, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------

on_every_directory!(
    publishing_a_chain,
    the_first_list_may_have_any_version,
    garbage_is_refused,
    another_users_list_is_refused,
    another_user_key_is_refused,
    a_rollback_is_refused,
    a_fork_is_refused,
    a_gap_is_refused,
    a_reset_replaces_the_history,
    the_history_is_bounded,
    versions_past_i64_max_keep_their_order,
);

fn publishing_a_chain(dir: &dyn PreKeyDirectory) {
    let f = alice();
    assert_eq!(dir.device_list(&f.address).unwrap(), None);
    assert!(history(dir).is_empty());

    // The first list: every device added.
    let first = publish(dir, v(1)).unwrap();
    assert_eq!(ids(&first), (vec![1], vec![], 0));
    assert_eq!(dir.device_list(&f.address).unwrap(), Some(v(1).to_bytes()));

    // Its successor: what changed.
    let second = publish(dir, v(2)).unwrap();
    assert_eq!(second, v(1).check_successor(v(2)).unwrap());
    assert_eq!(ids(&second), (vec![4], vec![], 0));
    let third = publish(dir, v(3)).unwrap();
    assert_eq!(ids(&third), (vec![5], vec![4], 0));

    // Byte-exact, oldest first, only those after the version asked for.
    let latest = dir.device_list(&f.address).unwrap().unwrap();
    assert_eq!(latest, v(3).to_bytes());
    assert_eq!(history(dir), [v(1), v(2), v(3)].map(|l| l.to_bytes()));
    let since_1 = dir.device_lists_since(&f.address, 1).unwrap();
    assert_eq!(since_1, [v(2).to_bytes(), v(3).to_bytes()]);
    assert!(dir.device_lists_since(&f.address, 3).unwrap().is_empty());
    assert!(
        dir.device_lists_since(&f.address, u64::MAX)
            .unwrap()
            .is_empty()
    );

    // What a peer holding version 1 does with them.
    let fetched: Vec<VerifiedDeviceList> = since_1
        .iter()
        .map(|b| DeviceList::from_bytes(b).unwrap().verify().unwrap())
        .collect();
    assert_eq!(
        ids(&v(1).check_chain(&fetched).unwrap()),
        (vec![5], vec![], 0)
    );

    // A retry of the latest changes nothing and is not refused.
    assert_eq!(publish(dir, v(3)).unwrap(), DeviceListUpdate::Unchanged);
    assert_eq!(history(dir).len(), 3);

    // Another user's lists are kept apart.
    let bob = UserAddress::new(b"chirp", b"bob").unwrap();
    assert_eq!(dir.device_list(&bob).unwrap(), None);
    let other_app = UserAddress::new(b"parley", b"alice").unwrap();
    assert!(dir.device_lists_since(&other_app, 0).unwrap().is_empty());
}

/// The first list the directory sees may be any version: an account that
/// moves with its chain under way. Its successors are then checked.
fn the_first_list_may_have_any_version(dir: &dyn PreKeyDirectory) {
    let first = publish(dir, v(5)).unwrap();
    assert_eq!(
        ids(&first).0,
        v(5).devices().map(|d| d.device_id()).collect::<Vec<_>>()
    );
    assert_eq!(
        list_err(publish(dir, v(4)).unwrap_err()),
        DeviceListError::Rollback {
            current: 5,
            found: 4
        }
    );
    publish(dir, v(6)).unwrap();
    assert_eq!(history(dir), [v(5).to_bytes(), v(6).to_bytes()]);
}

fn garbage_is_refused(dir: &dyn PreKeyDirectory) {
    let f = alice();
    publish(dir, v(1)).unwrap();
    let good = v(2).to_bytes();
    // Malformed: truncated, trailing bytes, another type.
    for bad in [
        good[..good.len() - 1].to_vec(),
        [&good[..], &[0u8][..]].concat(),
        [&[1u8, 0x20][..], &good[2..]].concat(),
        Vec::new(),
    ] {
        match dir.publish_device_list(&f.address, &bad).unwrap_err() {
            Error::Decode(e) => assert!(
                matches!(
                    e,
                    DecodeError::Truncated { .. }
                        | DecodeError::TrailingBytes { .. }
                        | DecodeError::UnexpectedType { .. }
                ),
                "{e:?}"
            ),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
    // Well-formed, but the signature does not verify.
    let mut forged = good.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert_eq!(
        dir.publish_device_list(&f.address, &forged).unwrap_err(),
        Error::Protocol(ProtocolError::InvalidSignature {
            object: SignedObject::DeviceList
        })
    );
    // A reset checks the bytes the same way.
    assert!(dir.reset_device_list(&f.address, &forged).is_err());
    assert!(matches!(
        dir.reset_device_list(&f.address, &good[..10]).unwrap_err(),
        Error::Decode(DecodeError::Truncated {
            wire_type: WireType::DeviceList,
            ..
        })
    ));
    assert_eq!(history(dir), [v(1).to_bytes()]);
}

fn another_users_list_is_refused(dir: &dyn PreKeyDirectory) {
    let bob = UserAddress::new(b"chirp", b"bob").unwrap();
    // Alice's list, published or reset as bob's.
    let err = dir.publish_device_list(&bob, &v(1).to_bytes()).unwrap_err();
    assert_eq!(list_err(err), DeviceListError::AddressMismatch);
    let err = dir.reset_device_list(&bob, &v(1).to_bytes()).unwrap_err();
    assert_eq!(list_err(err), DeviceListError::AddressMismatch);
    assert_eq!(dir.device_list(&bob).unwrap(), None);
    assert_eq!(dir.device_list(&alice().address).unwrap(), None);
    // And once bob has a list, still refused, and bob's list untouched.
    let bobs = DeviceList::first(&alice().user, &bob, NOW, alice().devices(1)).unwrap();
    dir.publish_device_list(&bob, &bobs.to_bytes()).unwrap();
    let err = dir.publish_device_list(&bob, &v(2).to_bytes()).unwrap_err();
    assert_eq!(list_err(err), DeviceListError::AddressMismatch);
    assert_eq!(dir.device_list(&bob).unwrap(), Some(bobs.to_bytes()));
}

fn another_user_key_is_refused(dir: &dyn PreKeyDirectory) {
    publish(dir, v(1)).unwrap();
    publish(dir, v(2)).unwrap();
    let (_, theirs) = other_key_list(42);
    assert_eq!(
        list_err(publish(dir, &theirs).unwrap_err()),
        DeviceListError::UserKeyChanged
    );
    assert_eq!(history(dir), [v(1).to_bytes(), v(2).to_bytes()]);
}

fn a_rollback_is_refused(dir: &dyn PreKeyDirectory) {
    for version in 1..=3 {
        publish(dir, v(version)).unwrap();
    }
    for old in [1, 2] {
        assert_eq!(
            list_err(publish(dir, v(old)).unwrap_err()),
            DeviceListError::Rollback {
                current: 3,
                found: old as u64
            }
        );
    }
    assert_eq!(
        dir.device_list(&alice().address).unwrap(),
        Some(v(3).to_bytes())
    );
    assert_eq!(history(dir).len(), 3);
}

fn a_fork_is_refused(dir: &dyn PreKeyDirectory) {
    let f = alice();
    publish(dir, v(1)).unwrap();
    publish(dir, v(2)).unwrap();
    // Another list of version 2, after the same version 1.
    let other = f.fork(2, 7);
    assert_ne!(other.to_bytes(), v(2).to_bytes());
    assert_eq!(
        list_err(publish(dir, &other).unwrap_err()),
        DeviceListError::Fork { version: 2 }
    );
    // A version 3 that follows the other version 2.
    let after_other = other.next(&f.user, NOW, f.devices(3)).unwrap();
    assert_eq!(
        list_err(publish(dir, &after_other).unwrap_err()),
        DeviceListError::Fork { version: 2 }
    );
    assert_eq!(history(dir), [v(1).to_bytes(), v(2).to_bytes()]);
    publish(dir, v(3)).unwrap();
}

fn a_gap_is_refused(dir: &dyn PreKeyDirectory) {
    publish(dir, v(1)).unwrap();
    assert_eq!(
        list_err(publish(dir, v(3)).unwrap_err()),
        DeviceListError::Gap {
            current: 1,
            found: 3
        }
    );
    assert_eq!(history(dir), [v(1).to_bytes()]);
    // The lists in between first, then it is accepted.
    publish(dir, v(2)).unwrap();
    publish(dir, v(3)).unwrap();
}

fn a_reset_replaces_the_history(dir: &dyn PreKeyDirectory) {
    let f = alice();
    for version in 1..=4 {
        publish(dir, v(version)).unwrap();
    }
    // The person lost every device: a new user key, a version 1 list.
    let (user, fresh) = other_key_list(43);
    dir.reset_device_list(&f.address, &fresh.to_bytes())
        .unwrap();
    assert_eq!(dir.device_list(&f.address).unwrap(), Some(fresh.to_bytes()));
    assert_eq!(history(dir), [fresh.to_bytes()]);
    // A peer holding the old key's version 4 learns nothing from the
    // lists after 4, and sees the new key on the latest.
    assert!(dir.device_lists_since(&f.address, 4).unwrap().is_empty());
    let latest = dir.device_list(&f.address).unwrap().unwrap();
    let latest = DeviceList::from_bytes(&latest).unwrap().verify().unwrap();
    assert_eq!(
        v(4).check_successor(&latest).unwrap_err(),
        DeviceListError::UserKeyChanged
    );
    // The old key can no longer publish; the new one continues.
    assert_eq!(
        list_err(publish(dir, v(5)).unwrap_err()),
        DeviceListError::UserKeyChanged
    );
    let next = fresh.next(&user, NOW, [(7, f.key(3), NOW), (8, f.key(4), NOW)]);
    let next = next.unwrap();
    assert_eq!(ids(&publish(dir, &next).unwrap()), (vec![8], vec![], 0));
    // A reset onto a user with no history is a first list.
    let bob = UserAddress::new(b"chirp", b"bob").unwrap();
    let bobs = DeviceList::first(&user, &bob, NOW, [(1, f.key(5), NOW)]).unwrap();
    dir.reset_device_list(&bob, &bobs.to_bytes()).unwrap();
    assert_eq!(dir.device_lists_since(&bob, 0).unwrap(), [bobs.to_bytes()]);
    // And the same key may reset too (a server repairing a history).
    dir.reset_device_list(&f.address, &v(1).to_bytes()).unwrap();
    assert_eq!(history(dir), [v(1).to_bytes()]);
}

fn the_history_is_bounded(dir: &dyn PreKeyDirectory) {
    let f = alice();
    for version in 1..=CHAIN_LEN {
        publish(dir, v(version)).unwrap();
    }
    let kept = history(dir);
    assert_eq!(kept.len(), MAX_DEVICE_LIST_HISTORY);
    let oldest = CHAIN_LEN - MAX_DEVICE_LIST_HISTORY + 1;
    let expected: Vec<Vec<u8>> = (oldest..=CHAIN_LEN).map(|k| v(k).to_bytes()).collect();
    assert_eq!(kept, expected, "the oldest are dropped, the rest in order");
    let fetched: Vec<VerifiedDeviceList> = kept
        .iter()
        .map(|b| DeviceList::from_bytes(b).unwrap().verify().unwrap())
        .collect();
    // A peer holding a dropped version finds a gap it cannot fill here.
    assert_eq!(
        v(1).check_chain(&fetched).unwrap_err(),
        DeviceListError::Gap {
            current: 1,
            found: oldest as u64
        }
    );
    // One holding the version just before the oldest kept can follow.
    v(oldest - 1).check_chain(&fetched).unwrap();
    // The latest is still checked against the dropped ones' successors.
    assert!(matches!(
        list_err(publish(dir, v(1)).unwrap_err()),
        DeviceListError::Rollback { .. }
    ));
    assert_eq!(
        dir.device_list(&f.address).unwrap(),
        Some(v(CHAIN_LEN).to_bytes())
    );
}

/// Versions are `u64`: lists at `i64::MAX` and past it stay in order
/// (a store that kept versions as signed integers would see 2^63 as the
/// oldest).
fn versions_past_i64_max_keep_their_order(dir: &dyn PreKeyDirectory) {
    let f = alice();
    let high = at_version(v(2), i64::MAX as u64);
    let next = high.next(&f.user, NOW, f.devices(3)).unwrap();
    let after = next.next(&f.user, NOW, f.devices(4)).unwrap();
    assert_eq!(next.version(), 1 << 63);
    publish(dir, &high).unwrap();
    publish(dir, &next).unwrap();
    assert_eq!(dir.device_list(&f.address).unwrap(), Some(next.to_bytes()));
    publish(dir, &after).unwrap();
    assert_eq!(dir.device_list(&f.address).unwrap(), Some(after.to_bytes()));
    assert_eq!(
        history(dir),
        [high.to_bytes(), next.to_bytes(), after.to_bytes()]
    );
    let since = dir.device_lists_since(&f.address, i64::MAX as u64).unwrap();
    assert_eq!(since, [next.to_bytes(), after.to_bytes()]);
    assert_eq!(
        list_err(publish(dir, &high).unwrap_err()),
        DeviceListError::Rollback {
            current: (1 << 63) + 1,
            found: i64::MAX as u64
        }
    );
}

/// `list` with its version replaced by `version` and signed again with
/// alice's raw Ed25519 key (no API signs an arbitrary version).
fn at_version(list: &VerifiedDeviceList, version: u64) -> VerifiedDeviceList {
    use ed25519_dalek::Signer;
    // The version follows the header, the user key and the address.
    let at = 3 + 32 + 1 + b"chirp".len() + 2 + b"alice".len();
    let mut bytes = list.to_bytes();
    bytes[at..at + 8].copy_from_slice(&version.to_be_bytes());
    let secret: [u8; 32] = alice()
        .user
        .to_secret_bytes()
        .as_bytes()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let split = bytes.len() - 64;
    let message = [&b"KINSEAL-v1 device list\0"[..], &bytes[..split]].concat();
    bytes[split..].copy_from_slice(&key.sign(&message).to_bytes());
    let list = DeviceList::from_bytes(&bytes).unwrap().verify().unwrap();
    assert_eq!(list.version(), version);
    list
}

// ---------------------------------------------------------------------------
// SQLite: a file keeps its history.

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_history_survives_reopening() {
    use kinseal::server::SqliteDirectory;
    let f = alice();
    let path = std::env::temp_dir().join(format!(
        "kinseal-device-lists-reopen-{}.sqlite",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    {
        let dir = SqliteDirectory::open(&path).unwrap();
        publish(&dir, v(1)).unwrap();
        publish(&dir, v(2)).unwrap();
    }
    {
        let dir = SqliteDirectory::open(&path).unwrap();
        assert_eq!(dir.device_list(&f.address).unwrap(), Some(v(2).to_bytes()));
        assert_eq!(history(&dir), [v(1).to_bytes(), v(2).to_bytes()]);
        // The rules still hold against what was stored before.
        assert_eq!(publish(&dir, v(2)).unwrap(), DeviceListUpdate::Unchanged);
        assert_eq!(
            list_err(publish(&dir, &f.fork(2, 5)).unwrap_err()),
            DeviceListError::Fork { version: 2 }
        );
        assert_eq!(
            list_err(publish(&dir, v(4)).unwrap_err()),
            DeviceListError::Gap {
                current: 2,
                found: 4
            }
        );
        publish(&dir, v(3)).unwrap();
    }
    let dir = SqliteDirectory::open(&path).unwrap();
    assert_eq!(history(&dir), [v(1), v(2), v(3)].map(|l| l.to_bytes()));
    drop(dir);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
