//! The `account_content` fuzz target: arbitrary contents (PROTOCOL.md
//! §17, type 0x62) of pairwise messages that an `Account` decrypts.
//! Included by `targets.rs`, so the corpus-replay test runs it too.
//!
//! The content decoder is reached only through a pairwise session, so the
//! input is the plaintext that Alice's side of an established session
//! encrypts, as a peer's app could; Bob's account decrypts it. Alice is a
//! member of a group Bob made. Whatever the input holds, `decrypt` must
//! not panic, and:
//! - when it fails, every record of Bob's store is as it was;
//! - when it returns an app message, the input is exactly the content
//!   header and that plaintext (accepted bytes re-encode identically);
//! - when it reports a group event, the input is a group kind; a state
//!   sync (only for a user's own devices) is never taken from Alice, nor
//!   a change or welcome for Bob's group (she is no admin of it; her own
//!   groups Bob may join); a sender key is taken only for Bob's group, as
//!   Alice's.

use std::sync::OnceLock;

use kinseal::client::store::{GroupStore, IdentityStore, SessionStore};
use kinseal::client::{
    Account, AccountConfig, ClientStore, Decrypted, DeviceAddress, GroupEvent, MemoryStore,
    StorageKey, StorageKeyring, StoreTransaction, UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyDirectory};
use kinseal::{
    DeviceList, GroupChange, GroupId, GroupOp, GroupRole, GroupState, IdentityKeyPair, SenderKey,
    Session, SessionConfig, UserIdentityKeyPair,
};

use super::rng;

const NOW: u64 = 1_767_225_600;
/// The content header: version, type, kind (PROTOCOL.md §17.1).
const VERSION: u8 = 0x01;
const TYPE_CONTENT: u8 = 0x62;
const KIND_MESSAGE: u8 = 0x01;
const KIND_DISTRIBUTION: u8 = 0x02;
const KIND_CHANGE: u8 = 0x03;
const KIND_WELCOME: u8 = 0x04;
const KIND_STATE_SYNC: u8 = 0x05;

/// One record of Bob's store, by table and key.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Record {
    Account(Vec<u8>),
    Identity(DeviceAddress, Vec<u8>),
    Sessions(DeviceAddress, Vec<u8>),
    User(UserAddress, Vec<u8>),
    Group(GroupId, Vec<u8>),
    SenderKeys(GroupId, DeviceAddress, Vec<u8>),
}

/// Bob's store after he made a group with Alice, Alice's session with
/// him, and the seeds.
struct ContentFixture {
    alice_at: DeviceAddress,
    alice_session: Vec<u8>,
    bob: Vec<Record>,
    group: GroupId,
    seeds: Vec<(&'static str, Vec<u8>)>,
}

fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[0x44; 32]))
}

fn content(kind: u8, body: &[u8]) -> Vec<u8> {
    [&[VERSION, TYPE_CONTENT, kind][..], body].concat()
}

fn content_fixture() -> &'static ContentFixture {
    static F: OnceLock<ContentFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(80);
        let dir = MemoryDirectory::new();
        let bob_at = DeviceAddress::new(b"parley", b"bob", 1).unwrap();
        let alice_user = UserAddress::new(b"chirp", b"alice").unwrap();
        let alice_at = alice_user.device(1);
        let store = MemoryStore::new();
        let config = AccountConfig::default()
            .with_one_time_prekey_target(1)
            .unwrap();
        let bob = Account::create(&store, keyring(), &mut r, &bob_at, NOW)
            .unwrap()
            .with_config(config);
        dir.register(&bob_at, bob.identity_key()).unwrap();
        let update = bob.refresh_prekeys(&mut r, NOW, None).unwrap();
        dir.upload(&bob_at, &bob.upload_bytes(&update).unwrap())
            .unwrap();

        // Alice: a device key and a user key with her one-device list, and
        // a bare session to Bob bound to both addresses, as an account's.
        let alice_user_key = UserIdentityKeyPair::generate(&mut r);
        let alice_key = IdentityKeyPair::generate(&mut r);
        let list = DeviceList::first(
            &alice_user_key,
            &alice_user,
            NOW,
            [(1, alice_key.public_key(), NOW)],
        )
        .unwrap();
        bob.update_device_lists(&mut r, &[list.to_bytes()], NOW)
            .unwrap();
        let bundle = dir
            .take_bundle(&bob_at)
            .unwrap()
            .into_bundle()
            .verify()
            .unwrap();
        let config = SessionConfig::default()
            .with_bound_addresses(&alice_at, &bob_at)
            .unwrap();
        let mut session = Session::initiate(&mut r, &alice_key, &bundle, config).unwrap();
        let hello = session
            .encrypt(&mut r, &content(KIND_MESSAGE, b"hi"))
            .unwrap();
        assert_eq!(
            bob.decrypt(&mut r, &alice_at, &hello, NOW)
                .unwrap()
                .plaintext(),
            b"hi"
        );
        let reply = bob.encrypt(&mut r, &alice_at, b"hi Alice", NOW).unwrap();
        assert_eq!(
            session.decrypt(&reply).unwrap(),
            content(KIND_MESSAGE, b"hi Alice")
        );

        // Bob's group with Alice; Alice's sender key for it.
        let (group, _) = bob
            .create_group(&mut r, std::slice::from_ref(&alice_user), NOW)
            .unwrap();
        let state = bob.group_state(&group).unwrap().unwrap();
        let key = SenderKey::generate(&mut r, group, state.epoch());
        let distribution = key.distribution().to_secret_bytes();
        // Alice's own groups: one whose genesis names Bob, and one she
        // starts alone and then adds him to (a welcome).
        let bob_user = bob_at.user().clone();
        let (own, genesis) = GroupState::create(
            &mut r,
            &alice_user_key,
            1,
            &alice_user,
            [(bob.user_identity_key().clone(), bob_user.clone())],
        )
        .unwrap();
        let (alone, _) = GroupState::create(&mut r, &alice_user_key, 1, &alice_user, []).unwrap();
        let add_bob = GroupOp::Add {
            key: bob.user_identity_key().clone(),
            address: bob_user,
            role: GroupRole::Member,
        };
        let adds_bob = GroupChange::new(&alone, &alice_user_key, 1, [add_bob]).unwrap();
        let alone = alone.to_bytes();
        let mut welcome = u32::try_from(alone.len()).unwrap().to_be_bytes().to_vec();
        welcome.extend_from_slice(&alone);
        welcome.extend_from_slice(&adds_bob.to_bytes());
        let seeds = vec![
            ("fixture-message", content(KIND_MESSAGE, b"hello Bob")),
            ("fixture-empty-message", content(KIND_MESSAGE, b"")),
            (
                "fixture-distribution",
                content(KIND_DISTRIBUTION, distribution.as_bytes()),
            ),
            ("fixture-genesis", content(KIND_CHANGE, &genesis.to_bytes())),
            ("fixture-welcome", content(KIND_WELCOME, &welcome)),
            (
                "fixture-state-sync",
                content(KIND_STATE_SYNC, &state.to_bytes()),
            ),
            (
                "fixture-own-state-sync",
                content(KIND_STATE_SYNC, &own.to_bytes()),
            ),
        ];
        drop(bob);
        ContentFixture {
            alice_at,
            alice_session: session.to_bytes().as_bytes().to_vec(),
            bob: dump(&store),
            group,
            seeds,
        }
    })
}

/// Every record of Bob's store that taking a content can read or write.
fn dump(store: &MemoryStore) -> Vec<Record> {
    let mut txn = store.transaction().unwrap();
    let mut out = vec![Record::Account(txn.account().unwrap().unwrap())];
    for d in txn.peer_identity_addresses().unwrap() {
        let record = txn.peer_identity(&d).unwrap().unwrap();
        out.push(Record::Identity(d, record));
    }
    for d in txn.session_addresses().unwrap() {
        let record = txn.sessions(&d).unwrap().unwrap();
        out.push(Record::Sessions(d, record));
    }
    for u in txn.peer_user_addresses().unwrap() {
        let record = txn.peer_user(&u).unwrap().unwrap();
        out.push(Record::User(u, record));
    }
    for g in txn.group_ids().unwrap() {
        out.push(Record::Group(g, txn.group(&g).unwrap().unwrap()));
        for d in txn.group_senders(&g).unwrap() {
            let record = txn.group_sender_keys(&g, &d).unwrap().unwrap();
            out.push(Record::SenderKeys(g, d, record));
        }
    }
    out
}

/// Bob's store as the fixture left it.
fn restore(records: &[Record]) -> MemoryStore {
    let store = MemoryStore::new();
    let mut txn = store.transaction().unwrap();
    for record in records {
        match record {
            Record::Account(r) => txn.put_account(r),
            Record::Identity(d, r) => txn.put_peer_identity(d, r),
            Record::Sessions(d, r) => txn.put_sessions(d, r),
            Record::User(u, r) => txn.put_peer_user(u, r),
            Record::Group(g, r) => txn.put_group(g, r),
            Record::SenderKeys(g, d, r) => txn.put_group_sender_keys(g, d, r),
        }
        .unwrap();
    }
    txn.commit().unwrap();
    store
}

/// Seeds for `account_content`, by target and file name.
pub fn content_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    content_fixture()
        .seeds
        .iter()
        .map(|(name, bytes)| ("account_content", *name, bytes.clone()))
        .collect()
}

/// What Bob's account makes of each seed, from the fixture's store: the
/// app message, the group event, or the error.
pub fn content_seed_outcomes() -> Vec<(&'static str, kinseal::Result<Decrypted>)> {
    let f = content_fixture();
    f.seeds
        .iter()
        .map(|(name, data)| {
            let store = restore(&f.bob);
            (*name, deliver(f, &store, data).expect("a seed too long"))
        })
        .collect()
}

/// Alice's session encrypts `data`, and Bob's account over `store`
/// decrypts it; `None` if it is longer than a session carries.
fn deliver(
    f: &ContentFixture,
    store: &MemoryStore,
    data: &[u8],
) -> Option<kinseal::Result<Decrypted>> {
    let mut r = rng(81);
    let mut alice = Session::from_bytes(&f.alice_session).unwrap();
    let message = alice.encrypt(&mut r, data).ok()?;
    let bob = Account::open(store, keyring()).unwrap();
    Some(bob.decrypt(&mut r, &f.alice_at, &message, NOW))
}

/// The target.
pub fn account_content(data: &[u8]) {
    let f = content_fixture();
    let store = restore(&f.bob);
    let before = dump(&store);
    let Some(result) = deliver(f, &store, data) else {
        // Longer than a session carries: nothing reaches Bob.
        return;
    };
    let decrypted = match result {
        Err(_) => {
            assert_eq!(dump(&store), before, "a refused content changed the store");
            return;
        }
        Ok(decrypted) => decrypted,
    };
    let header = data.get(..3).expect("content shorter than its header");
    assert_eq!(header[..2], [VERSION, TYPE_CONTENT]);
    let Some(event) = decrypted.group_event() else {
        assert_eq!(
            content(KIND_MESSAGE, decrypted.plaintext()),
            data,
            "an app message that does not re-encode to its bytes"
        );
        return;
    };
    assert!(decrypted.plaintext().is_empty());
    match event {
        GroupEvent::SenderKey { group, sender } => {
            assert_eq!(header[2], KIND_DISTRIBUTION);
            assert_eq!((group, sender), (&f.group, &f.alice_at));
        }
        GroupEvent::Unchanged { group } => assert_ne!(header[2], KIND_MESSAGE, "{group:?}"),
        GroupEvent::Joined { group, .. } | GroupEvent::Changed { group, .. } => {
            assert!(matches!(header[2], KIND_CHANGE | KIND_WELCOME), "{event:?}");
            assert_ne!(group, &f.group, "Alice changed Bob's group");
        }
        _ => panic!("an event this target does not know: {event:?}"),
    }
}
