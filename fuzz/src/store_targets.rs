//! The client-store fuzz target: sealed records and record plaintexts,
//! read back through the public `Account` API. Included by `targets.rs`,
//! so the corpus-replay test runs it too.

use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use kinseal::client::store::{
    GroupStore, HandshakeLog, IdentityStore, KemPreKeyStore, LastResortKemPreKeyStore,
    OneTimePreKeyStore, SessionStore, SignedPreKeyStore,
};
use kinseal::client::{
    Account, AccountConfig, ClientStore, DeviceAddress, MemoryStore, RecordKey, StorageKey,
    StorageKeyring, StoreTransaction, UserAddress,
};
use kinseal::server::{MemoryDirectory, PreKeyCounts, PreKeyDirectory};
use kinseal::{Envelope, GroupId, PreKeyMessage};

use super::rng;

/// The time of the fixture, in seconds since the Unix epoch.
const NOW: u64 = 1_700_000_000;
/// The fixture's storage key (id 1) and the key a rotation moves to (id 2).
const STORAGE_SECRET: [u8; 32] = [0x5a; 32];
const ROTATED_SECRET: [u8; 32] = [0xa5; 32];
/// How many one-time prekeys of each kind Bob keeps published: Alice and
/// Carol each use one, Dave gets the last-resort keys.
const ONE_TIME_TARGET: usize = 2;

/// Where a fuzzed record goes in Bob's store: the records Bob holds
/// (account, Alice's identity and sessions, one prekey of each kind, four
/// user records, the group he is in with Alice and the sender keys Alice
/// sent him for it), then two places that are empty in the fixture
/// (Carol's identity and sessions).
const SLOTS: usize = 15;
/// The first slot that is empty in the fixture.
const FIRST_EMPTY_SLOT: usize = 13;
const SLOT_NAMES: [&str; SLOTS] = [
    "account",
    "alice-identity",
    "alice-sessions",
    "signed-prekey",
    "one-time-prekey",
    "kem-prekey",
    "last-resort-kem-prekey",
    "alice-user",
    "carol-user",
    "dave-user",
    "own-user",
    "group",
    "alice-sender-keys",
    "carol-identity",
    "carol-sessions",
];

/// Bob's store after a conversation with Alice, and three messages to him.
struct StoreFixture {
    alice_at: DeviceAddress,
    carol_at: DeviceAddress,
    dave_at: DeviceAddress,
    /// The user records of slots 7 to 10: Alice's, Carol's and Dave's
    /// users, and Bob's own.
    users: [UserAddress; 4],
    /// Prekey ids of slots 3 to 6.
    ids: [u32; 4],
    /// Bob's sealed records, slots 0 to 12.
    sealed: Vec<Vec<u8>>,
    /// Their plaintexts.
    plain: Vec<Vec<u8>>,
    /// A `Message` from Alice, in the established session.
    from_alice: Vec<u8>,
    /// The group Alice made with Bob (slots 11 and 12), and a group
    /// message from Alice in it.
    group: GroupId,
    group_message: Vec<u8>,
    /// A `PreKeyMessage` from Carol, on one-time prekeys.
    from_carol: Vec<u8>,
    /// A `PreKeyMessage` from Dave, on the last-resort KEM prekey.
    from_dave: Vec<u8>,
    /// The handshake ids of Carol's and Dave's first messages.
    handshakes: [[u8; 32]; 2],
}

fn keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &STORAGE_SECRET))
}

fn rotated_keyring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(2, &ROTATED_SECRET))
        .with_previous(StorageKey::new(1, &STORAGE_SECRET))
        .unwrap()
}

fn bob_config() -> AccountConfig {
    AccountConfig::default()
        .with_one_time_prekey_target(ONE_TIME_TARGET)
        .unwrap()
}

/// The shared store fixture, built deterministically from seeded RNGs.
fn store_fixture() -> &'static StoreFixture {
    static F: OnceLock<StoreFixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut r = rng(5);
        let at = |user: &[u8]| DeviceAddress::new(b"fuzz.example", user, 1).unwrap();
        let (bob_at, alice_at, carol_at, dave_at) =
            (at(b"bob"), at(b"alice"), at(b"carol"), at(b"dave"));
        let create = |r: &mut _, at: &DeviceAddress| {
            Account::create(MemoryStore::new(), keyring(), r, at, NOW).unwrap()
        };
        let bob = create(&mut r, &bob_at).with_config(bob_config());
        let alice = create(&mut r, &alice_at);
        let (carol, dave) = (create(&mut r, &carol_at), create(&mut r, &dave_at));
        // Everyone learns everyone's device list, as from a directory.
        let everyone = [&alice, &bob, &carol, &dave];
        for a in everyone {
            for b in everyone {
                let list = b.device_list().unwrap().to_bytes();
                a.update_device_lists(&mut r, &[list], NOW).unwrap();
            }
        }

        let directory = MemoryDirectory::new();
        directory.register(&bob_at, bob.identity_key()).unwrap();
        let update = bob.refresh_prekeys(&mut r, NOW, None).unwrap();
        directory
            .upload(&bob_at, &bob.upload_bytes(&update).unwrap())
            .unwrap();
        let bundle = || {
            let taken = directory.take_bundle(&bob_at).unwrap();
            taken.into_bundle().verify().unwrap()
        };

        alice
            .start_session(&mut r, &bob_at, &bundle(), NOW)
            .unwrap();
        let first = alice.encrypt(&mut r, &bob_at, b"hi Bob", NOW).unwrap();
        bob.decrypt(&mut r, &alice_at, &first, NOW).unwrap();
        let reply = bob.encrypt(&mut r, &alice_at, b"hi Alice", NOW).unwrap();
        alice.decrypt(&mut r, &bob_at, &reply, NOW).unwrap();
        let from_alice = alice.encrypt(&mut r, &bob_at, b"from Alice", NOW).unwrap();
        // Alice makes a group with Bob; both send in it, so Bob holds the
        // group with his own sender key and Alice's.
        let (group, genesis) = alice
            .create_group(&mut r, &[bob_at.user().clone()], NOW)
            .unwrap();
        let deliver = |r: &mut ChaCha20Rng, to: &Account<MemoryStore>, envelopes: &[Envelope]| {
            for e in envelopes {
                to.decrypt_envelope(r, e, NOW).unwrap();
            }
        };
        deliver(&mut r, &bob, genesis.envelopes());
        let first = alice
            .group_send(&mut r, &group, b"hello group", NOW)
            .unwrap();
        deliver(&mut r, &bob, first.distributions().envelopes());
        bob.group_decrypt(&mut r, &alice_at, first.message())
            .unwrap();
        let reply = bob.group_send(&mut r, &group, b"hello Alice", NOW).unwrap();
        deliver(&mut r, &alice, reply.distributions().envelopes());
        let group_message = alice
            .group_send(&mut r, &group, b"to the group", NOW)
            .unwrap()
            .message()
            .to_vec();

        carol
            .start_session(&mut r, &bob_at, &bundle(), NOW)
            .unwrap();
        let from_carol = carol.encrypt(&mut r, &bob_at, b"from Carol", NOW).unwrap();
        dave.start_session(&mut r, &bob_at, &bundle(), NOW).unwrap();
        let from_dave = dave.encrypt(&mut r, &bob_at, b"from Dave", NOW).unwrap();
        let carol_first = PreKeyMessage::from_bytes(&from_carol).unwrap();
        let dave_first = PreKeyMessage::from_bytes(&from_dave).unwrap();
        assert!(carol_first.one_time_prekey_id().is_some());
        assert!(dave_first.one_time_prekey_id().is_none());

        let mut txn = bob.store().transaction().unwrap();
        let one = |ids: Vec<u32>| -> u32 {
            assert_eq!(ids.len(), 1, "{ids:?}");
            ids[0]
        };
        let ids = [
            one(txn.signed_prekey_ids().unwrap()),
            one(txn.one_time_prekey_ids().unwrap()),
            one(txn.kem_prekey_ids().unwrap()),
            one(txn.last_resort_kem_prekey_ids().unwrap()),
        ];
        assert_eq!(carol_first.kem_prekey_id(), ids[2]);
        assert_eq!(dave_first.kem_prekey_id(), ids[3]);
        let mut f = StoreFixture {
            users: [&alice_at, &carol_at, &dave_at, &bob_at].map(|a| a.user().clone()),
            alice_at,
            carol_at,
            dave_at,
            ids,
            sealed: Vec::new(),
            plain: Vec::new(),
            from_alice,
            group,
            group_message,
            from_carol,
            from_dave,
            handshakes: [
                *carol_first.handshake_id().as_bytes(),
                *dave_first.handshake_id().as_bytes(),
            ],
        };
        for slot in 0..FIRST_EMPTY_SLOT {
            let sealed = get(&mut txn, &f, slot).unwrap();
            f.plain
                .push(keyring().open(f.key(slot), &sealed).unwrap().to_vec());
            f.sealed.push(sealed);
        }
        drop(txn);
        f
    })
}

impl StoreFixture {
    fn key(&self, slot: usize) -> RecordKey<'_> {
        match slot {
            0 => RecordKey::Account,
            1 => RecordKey::PeerIdentity(&self.alice_at),
            2 => RecordKey::Sessions(&self.alice_at),
            3 => RecordKey::SignedPreKey(self.ids[0]),
            4 => RecordKey::OneTimePreKey(self.ids[1]),
            5 => RecordKey::KemPreKey(self.ids[2]),
            6 => RecordKey::LastResortKemPreKey(self.ids[3]),
            7..=10 => RecordKey::PeerUser(&self.users[slot - 7]),
            11 => RecordKey::Group(&self.group),
            12 => RecordKey::GroupSenderKeys(&self.group, &self.alice_at),
            13 => RecordKey::PeerIdentity(&self.carol_at),
            _ => RecordKey::Sessions(&self.carol_at),
        }
    }
}

fn get<T: StoreTransaction>(txn: &mut T, f: &StoreFixture, slot: usize) -> Option<Vec<u8>> {
    match slot {
        0 => txn.account(),
        1 => txn.peer_identity(&f.alice_at),
        2 => txn.sessions(&f.alice_at),
        3 => txn.signed_prekey(f.ids[0]),
        4 => txn.one_time_prekey(f.ids[1]),
        5 => txn.kem_prekey(f.ids[2]),
        6 => txn.last_resort_kem_prekey(f.ids[3]),
        7..=10 => txn.peer_user(&f.users[slot - 7]),
        11 => txn.group(&f.group),
        12 => txn.group_sender_keys(&f.group, &f.alice_at),
        13 => txn.peer_identity(&f.carol_at),
        _ => txn.sessions(&f.carol_at),
    }
    .unwrap()
}

fn put<T: StoreTransaction>(txn: &mut T, f: &StoreFixture, slot: usize, record: &[u8]) {
    match slot {
        0 => txn.put_account(record),
        1 => txn.put_peer_identity(&f.alice_at, record),
        2 => txn.put_sessions(&f.alice_at, record),
        3 => txn.put_signed_prekey(f.ids[0], record),
        4 => txn.put_one_time_prekey(f.ids[1], record),
        5 => txn.put_kem_prekey(f.ids[2], record),
        6 => txn.put_last_resort_kem_prekey(f.ids[3], record),
        7..=10 => txn.put_peer_user(&f.users[slot - 7], record),
        11 => txn.put_group(&f.group, record),
        12 => txn.put_group_sender_keys(&f.group, &f.alice_at, record),
        13 => txn.put_peer_identity(&f.carol_at, record),
        _ => txn.put_sessions(&f.carol_at, record),
    }
    .unwrap();
}

/// Every record of a store, for comparing before and after a failed call.
fn snapshot(store: &MemoryStore, f: &StoreFixture) -> Vec<Vec<u8>> {
    let mut txn = store.transaction().unwrap();
    let mut out = vec![txn.account().unwrap().unwrap_or_default()];
    let address =
        |a: &DeviceAddress| [a.app_id(), a.user_id(), &a.device_id().to_be_bytes()].concat();
    for a in txn.peer_identity_addresses().unwrap() {
        out.push(address(&a));
        out.push(txn.peer_identity(&a).unwrap().unwrap());
    }
    for a in txn.session_addresses().unwrap() {
        out.push(address(&a));
        out.push(txn.sessions(&a).unwrap().unwrap());
    }
    for u in txn.peer_user_addresses().unwrap() {
        out.push([u.app_id(), u.user_id()].concat());
        out.push(txn.peer_user(&u).unwrap().unwrap());
    }
    for g in txn.group_ids().unwrap() {
        out.push(g.as_bytes().to_vec());
        out.push(txn.group(&g).unwrap().unwrap());
        for d in txn.group_senders(&g).unwrap() {
            out.push(address(&d));
            out.push(txn.group_sender_keys(&g, &d).unwrap().unwrap());
        }
    }
    let tables: [(u8, Vec<u32>); 4] = [
        (1, txn.signed_prekey_ids().unwrap()),
        (2, txn.one_time_prekey_ids().unwrap()),
        (3, txn.kem_prekey_ids().unwrap()),
        (4, txn.last_resort_kem_prekey_ids().unwrap()),
    ];
    for (table, ids) in tables {
        for id in ids {
            out.push([&[table][..], &id.to_be_bytes()].concat());
            out.push(
                match table {
                    1 => txn.signed_prekey(id),
                    2 => txn.one_time_prekey(id),
                    3 => txn.kem_prekey(id),
                    _ => txn.last_resort_kem_prekey(id),
                }
                .unwrap()
                .unwrap(),
            );
        }
    }
    for id in &f.handshakes {
        out.push(vec![u8::from(txn.contains_handshake(id).unwrap())]);
    }
    out
}

/// Runs one account call: on a genuine store it must work; when it fails,
/// the store must be exactly as it was.
fn step<T>(
    account: &Account<MemoryStore>,
    f: &StoreFixture,
    genuine: bool,
    what: &str,
    call: impl FnOnce(&Account<MemoryStore>) -> kinseal::Result<T>,
) -> Option<T> {
    let before = snapshot(account.store(), f);
    match call(account) {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(!genuine, "{what} failed on a genuine store: {e:?}");
            assert_eq!(
                snapshot(account.store(), f),
                before,
                "{what} failed ({e:?}) and changed the store"
            );
            None
        }
    }
}

/// Client-store records, opened and read back through the `Account`.
///
/// The first byte picks the mode. Bits 0–5 pick a slot (a record of Bob's
/// store, mod [`SLOTS`]); bit 6 opens the account with a rotated keyring (new key
/// current, the fixture's key previous) and reseals everything first;
/// bit 7 says what the rest is:
/// - set: a *sealed* record. It is opened with `StorageKeyring::open` for
///   every record key (at most one may open it, and only a genuine record
///   opens), then stored in the slot as it is;
/// - clear: a record *plaintext*, sealed with `StorageKeyring::seal` under
///   the fixture's key for the slot and stored there.
///
/// Then the account is opened and used: identity and session queries, a
/// `Message` from Alice, first messages from Carol (one-time prekeys) and
/// Dave (last-resort KEM prekey), an encryption to Alice, the group's
/// state, a group message from Alice and one from Bob, a prekey refresh
/// and session expiry. Every call must return a typed error or
/// work, never panic; a decrypted plaintext is always the one sent; a
/// failed call leaves the store unchanged; and with the genuine record in
/// the slot, every call works.
pub fn open_store_record(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = store_fixture();
    let slot = usize::from(mode & 0x3f) % SLOTS;
    let rotated = mode & 0x40 != 0;
    let mut r = rng(6);
    let sealed_mode = mode & 0x80 != 0;
    let record = if sealed_mode {
        let ring = keyring();
        let mut opened = 0;
        for (i, sealed) in f.sealed.iter().enumerate() {
            if ring.open(f.key(i), rest).is_ok() {
                assert_eq!(rest, sealed.as_slice(), "a forged record opened");
                opened += 1;
            }
        }
        for i in FIRST_EMPTY_SLOT..SLOTS {
            assert!(
                ring.open(f.key(i), rest).is_err(),
                "a record opened elsewhere"
            );
        }
        assert!(opened <= 1, "a record opened in {opened} places");
        rest.to_vec()
    } else {
        // Fuzz inputs are far below the largest record a seal takes.
        keyring().seal(&mut r, f.key(slot), rest).unwrap()
    };
    let genuine = if sealed_mode {
        f.sealed.get(slot).is_some_and(|s| *s == rest)
    } else {
        f.plain.get(slot).is_some_and(|p| p == rest)
    };

    let store = MemoryStore::new();
    {
        let mut txn = store.transaction().unwrap();
        for (i, sealed) in f.sealed.iter().enumerate() {
            put(&mut txn, f, i, sealed);
        }
        put(&mut txn, f, slot, &record);
        txn.commit().unwrap();
    }
    let ring = if rotated {
        rotated_keyring()
    } else {
        keyring()
    };
    let account = match Account::open(store, ring) {
        Ok(a) => a.with_config(bob_config()),
        Err(e) => {
            assert!(!genuine, "a genuine account did not open: {e:?}");
            return;
        }
    };
    use_account(&account, f, genuine, rotated, &mut r);
}

fn use_account(
    account: &Account<MemoryStore>,
    f: &StoreFixture,
    genuine: bool,
    rotated: bool,
    r: &mut ChaCha20Rng,
) {
    let alice = &f.alice_at;
    // With a rotated keyring, every record is stale and is resealed.
    let resealed = step(account, f, genuine, "reseal_all", |a| a.reseal_all(&mut *r));
    if genuine {
        let all = if rotated { FIRST_EMPTY_SLOT } else { 0 };
        assert_eq!(resealed, Some(all));
    }
    step(account, f, genuine, "has_session", |a| a.has_session(alice));
    let known = step(account, f, genuine, "peer_identity", |a| {
        a.peer_identity(alice)
    });
    step(account, f, genuine, "current_session_id", |a| {
        a.current_session_id(alice)
    });
    step(account, f, genuine, "devices_with_sessions", |a| {
        a.devices_with_sessions(alice.user())
    });
    let own = step(account, f, genuine, "device_list", |a| a.device_list());
    let alice_user = step(account, f, genuine, "peer_user", |a| {
        a.peer_user(alice.user())
    });
    step(account, f, genuine, "user_safety_number", |a| {
        a.user_safety_number(alice.user())
    });
    if genuine {
        assert!(own.is_some(), "the account's own list is on record");
        assert!(
            matches!(alice_user, Some(Some(_))),
            "Alice's user is on record"
        );
    }
    if genuine {
        assert!(
            matches!(known, Some(Some(_))),
            "Alice's identity is on record"
        );
    }
    let messages: [(&DeviceAddress, &[u8], &[u8]); 3] = [
        (alice, &f.from_alice, b"from Alice"),
        (&f.carol_at, &f.from_carol, b"from Carol"),
        (&f.dave_at, &f.from_dave, b"from Dave"),
    ];
    for (from, bytes, expected) in messages {
        let got = step(account, f, genuine, "decrypt", |a| {
            a.decrypt(&mut *r, from, bytes, NOW)
        });
        if let Some(d) = got {
            assert_eq!(d.plaintext(), expected, "decrypted to something not sent");
        }
    }
    step(account, f, genuine, "encrypt", |a| {
        a.encrypt(&mut *r, alice, b"to Alice", NOW)
    });
    let state = step(account, f, genuine, "group_state", |a| {
        a.group_state(&f.group)
    });
    if genuine {
        assert!(matches!(state, Some(Some(_))), "the group is on record");
    }
    let got = step(account, f, genuine, "group_decrypt", |a| {
        a.group_decrypt(&mut *r, alice, &f.group_message)
    });
    if let Some(d) = got {
        assert_eq!(
            d.plaintext(),
            b"to the group",
            "decrypted to something not sent"
        );
    }
    step(account, f, genuine, "group_send", |a| {
        a.group_send(&mut *r, &f.group, b"from Bob", NOW)
    });
    let published = PreKeyCounts::new(ONE_TIME_TARGET, ONE_TIME_TARGET);
    step(account, f, genuine, "refresh_prekeys", |a| {
        a.refresh_prekeys(&mut *r, NOW, Some(published))
    });
    step(account, f, genuine, "expire_sessions", |a| {
        a.expire_sessions(&mut *r, NOW + 40 * 24 * 60 * 60)
    });
}

/// The committed seeds of `open_store_record`, by file name: each of Bob's
/// records as a plaintext (mode 0x00 | slot) and as sealed (0x80 | slot),
/// Alice's plaintexts in Carol's empty slots, and the sessions plaintext
/// under a rotated keyring (0x40 | 2).
pub fn store_record_seeds() -> Vec<(String, Vec<u8>)> {
    let f = store_fixture();
    let seed = |mode: u8, body: &[u8]| [&[mode][..], body].concat();
    let mut out = Vec::new();
    for (slot, name) in SLOT_NAMES.iter().enumerate() {
        // Carol's empty slots get Alice's records of the same kind.
        let source = if slot < FIRST_EMPTY_SLOT {
            slot
        } else {
            slot - FIRST_EMPTY_SLOT + 1
        };
        let mode = u8::try_from(slot).unwrap();
        out.push((
            format!("fixture-plain-{name}"),
            seed(mode, &f.plain[source]),
        ));
        if slot < FIRST_EMPTY_SLOT {
            out.push((
                format!("fixture-sealed-{name}"),
                seed(0x80 | mode, &f.sealed[slot]),
            ));
        }
    }
    out.push((
        "fixture-plain-rotated-alice-sessions".into(),
        seed(0x42, &f.plain[2]),
    ));
    out
}
