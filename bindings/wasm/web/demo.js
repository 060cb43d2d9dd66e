// The demo: three people on two apps of the family, a stand-in server
// (a prekey Directory and a mailbox) in the page, and each account's
// sealed records in IndexedDB, written in one IndexedDB transaction per
// operation together with the mailbox change it goes with (the rule in
// docs/DESIGN.md, "Storage in the browser").
//
// First load: accounts, sessions, a conversation, a group; one message
// from Bob to Alice is left in the mailbox. A reload opens every account
// from IndexedDB, Alice reads the waiting message, everyone goes on
// talking in pairs and in the group, and the safety numbers are
// compared. The page writes PASS or FAIL into #status (the headless
// Chromium test reads it).

import init, { Account, Directory, decodeEnvelope } from "./pkg/kinseal_wasm.js";

const DB = "kinseal-demo";
const PEOPLE = [
  { name: "Alice", address: { appId: "chirp", userId: "alice", deviceId: 1 } },
  { name: "Bob", address: { appId: "hoot", userId: "bob", deviceId: 1 } },
  { name: "Carol", address: { appId: "chirp", userId: "carol", deviceId: 1 } },
];
const now = () => Math.floor(Date.now() / 1000);
const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
const userOf = (a) => ({ appId: a.appId, userId: a.userId });
const same = (a, b) => a.appId === b.appId && a.userId === b.userId;

// --- IndexedDB ----------------------------------------------------------

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDb() {
  const r = indexedDB.open(DB, 1);
  r.onupgradeneeded = () => {
    // One store of sealed records per person, keyed by the record's key;
    // "meta": each person's storage key (a demo shortcut: a real app
    // derives it from a passphrase or gets it from its server, since a
    // key next to the records protects nothing) and the group's id;
    // "mailbox": what the stand-in server holds for delivery.
    for (const p of PEOPLE) r.result.createObjectStore(p.address.userId);
    r.result.createObjectStore("meta");
    r.result.createObjectStore("mailbox", { autoIncrement: true });
  };
  return request(r);
}

/** Writes `person`'s changed records, and `extra(tx)`, in one transaction. */
function persist(db, person, extra = () => {}) {
  const stores = [person.address.userId, "meta", "mailbox"];
  const tx = db.transaction(stores, "readwrite");
  const records = tx.objectStore(person.address.userId);
  for (const r of person.account.takeChanges()) {
    if (r.value === undefined) records.delete(r.key);
    else records.put(r.value, r.key);
  }
  extra(tx);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function loadRecords(db, person) {
  const tx = db.transaction(person.address.userId);
  const store = tx.objectStore(person.address.userId);
  const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
  return keys.map((k, i) => ({ key: new Uint8Array(k), value: values[i] }));
}

// --- the page -------------------------------------------------------------

function show(person, line) {
  const li = document.createElement("li");
  li.textContent = line;
  person.log.append(li);
}

function render() {
  const root = document.getElementById("people");
  for (const p of PEOPLE) {
    const div = document.createElement("div");
    div.className = "person";
    div.innerHTML = `<h2>${p.name} <small>(${p.address.appId})</small></h2><ol></ol>`;
    p.log = div.querySelector("ol");
    root.append(div);
  }
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** Sends `text` from `from` to `to` through the mailbox. */
async function send(db, from, to, text) {
  const envelope = from.account.encryptEnvelope(to.address, enc(text), now());
  // The ciphertext goes to the server only once the ratchet step is durable.
  await persist(db, from, (tx) => tx.objectStore("mailbox").add(hex(envelope.bytes)));
  show(from, `→ ${to.name}: ${text}`);
}

/** Delivers every waiting envelope: decrypt, store, and only then ack. */
async function deliver(db) {
  const tx = db.transaction("mailbox");
  const store = tx.objectStore("mailbox");
  const [ids, items] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
  const got = [];
  for (let i = 0; i < ids.length; i++) {
    const bytes = unhex(items[i]);
    // The server reads the recipient from the envelope (it cannot read more).
    const p = PEOPLE.find((q) => same(q.address, decodeEnvelope(bytes).recipient));
    const d = p.account.decryptEnvelope(bytes, now());
    // The plaintext and the records are durable before the server's copy
    // is removed (the ack): at least once.
    await persist(db, p, (t) => t.objectStore("mailbox").delete(ids[i]));
    const from = PEOPLE.find((q) => same(q.address, d.sender));
    if (d.groupEvent === undefined) {
      show(p, `← ${from.name}: ${dec(d.plaintext)}`);
      got.push(`${p.name}<${from.name}:${dec(d.plaintext)}`);
    }
  }
  return got;
}

async function groupSend(db, from, group, text) {
  const sent = from.account.groupSend(group, enc(text), now());
  await persist(db, from, (tx) => {
    for (const e of sent.distributions.envelopes) tx.objectStore("mailbox").add(hex(e.bytes));
  });
  await deliver(db);
  show(from, `→ group: ${text}`);
  for (const p of PEOPLE.filter((q) => q !== from)) {
    const d = p.account.groupDecrypt(from.address, sent.message);
    await persist(db, p);
    check(dec(d.plaintext) === text, `${p.name} reads ${from.name}'s group message`);
    show(p, `← ${from.name} (group): ${text}`);
  }
}

async function firstVisit(db) {
  const dir = new Directory();
  const [alice, bob, carol] = PEOPLE;
  for (const p of PEOPLE) {
    p.storageKey = crypto.getRandomValues(new Uint8Array(32));
    p.account = Account.create(p.address, p.storageKey, 1, now());
    dir.register(p.address, p.account.identityKey());
    dir.upload(p.address, p.account.refreshPrekeys(now()));
    const list = p.account.deviceList();
    dir.publishDeviceList(list.user, list.bytes);
    await persist(db, p, (tx) => tx.objectStore("meta").put(hex(p.storageKey), p.address.userId));
  }
  for (const p of PEOPLE) {
    for (const q of PEOPLE.filter((o) => o !== p)) {
      // One user's lists per call: the latest one, at first contact.
      p.account.updateDeviceLists([dir.deviceList(userOf(q.address))], now());
    }
    await persist(db, p);
  }
  for (const [a, b] of [[alice, bob], [alice, carol], [carol, bob]]) {
    a.account.startSession(b.address, dir.takeBundle(b.address), now());
    await persist(db, a);
  }
  await send(db, alice, bob, "Hi Bob, it's Alice on chirp");
  await deliver(db);
  await send(db, bob, alice, "Hello Alice, Bob here on hoot");
  await send(db, carol, bob, "Hey Bob");
  await deliver(db);
  const created = alice.account.createGroup([userOf(bob.address), userOf(carol.address)], now());
  await persist(db, alice, (tx) => {
    tx.objectStore("meta").put(hex(created.group), "group");
    for (const e of created.fanOut.envelopes) tx.objectStore("mailbox").add(hex(e.bytes));
  });
  await deliver(db);
  await groupSend(db, alice, created.group, "Welcome to the group");
  // Left in the mailbox for after the reload.
  await send(db, bob, alice, "Are you still there after the reload?");
}

async function afterReload(db) {
  const [alice, bob, carol] = PEOPLE;
  const meta = db.transaction("meta").objectStore("meta");
  const keys = await Promise.all(PEOPLE.map((p) => request(meta.get(p.address.userId))));
  const group = unhex(await request(db.transaction("meta").objectStore("meta").get("group")));
  for (let i = 0; i < PEOPLE.length; i++) {
    const p = PEOPLE[i];
    const records = await loadRecords(db, p);
    p.account = Account.openFromRecords(records, unhex(keys[i]), 1);
    show(p, `(reloaded: ${records.length} sealed records from IndexedDB)`);
  }
  const got = await deliver(db);
  check(got.includes("Alice<Bob:Are you still there after the reload?"), "the waiting message arrived");
  await send(db, alice, bob, "Yes! Reloaded and still here");
  await send(db, carol, alice, "Hi Alice");
  const more = await deliver(db);
  check(more.length === 2, "both messages after the reload arrived");
  check(alice.account.groupState(group).members.length === 3, "the group survived the reload");
  await groupSend(db, carol, group, "Group still works after the reload");

  const ab = alice.account.userSafetyNumber(userOf(bob.address));
  const ba = bob.account.userSafetyNumber(userOf(alice.address));
  check(ab.digits() === ba.digits(), "the safety numbers match");
  check(ba.matchesScanned(ab.qrBytes()), "Bob scans Alice's QR code");
  document.getElementById("safety").textContent = ab.groups().join(" ");
  return true;
}

async function main() {
  const status = document.getElementById("status");
  try {
    await init();
    render();
    const db = await openDb();
    document.getElementById("reset").onclick = async () => {
      db.close();
      await request(indexedDB.deleteDatabase(DB));
      location.reload();
    };
    const count = await request(db.transaction("alice").objectStore("alice").count());
    if (count === 0) {
      await firstVisit(db);
      status.textContent = "PASS first visit: reload the page to go on";
      status.dataset.phase = "first";
    } else {
      await afterReload(db);
      status.textContent = "PASS after reload: every message arrived";
      status.dataset.phase = "reloaded";
    }
    status.className = "pass";
  } catch (e) {
    status.textContent = `FAIL ${e.name}: ${e.message}`;
    status.dataset.phase = "failed";
    status.className = "fail";
    console.error(e);
  }
  status.dataset.done = "1";
}

// One tab at a time: two tabs with the same accounts would each run a
// copy and fork the ratchets. The lock is held until the tab closes (a
// reload releases it as the old page goes); another tab waits for it.
if (navigator.locks) {
  document.getElementById("status").textContent = "waiting for another tab to close…";
  navigator.locks.request(DB, async () => {
    await main();
    await new Promise(() => {});
  });
} else {
  main();
}
