//! The PostgreSQL directory's idempotent take: a take whose answer is lost
//! with its connection, after its commit or before the server saw it,
//! returns one bundle and consumes exactly one key; and the migration
//! from schema version 1 that added the takes' records. The lost answers
//! are real: the directory talks to the server through a proxy here that
//! closes the connection at the chosen moment. Skipped without a server
//! (see `pg`).

#![cfg(feature = "postgres")]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use kinseal::server::{
    POSTGRES_HANDED_OUT_KEEP, POSTGRES_RECOVERY_PATIENCE, POSTGRES_SCHEMA_VERSION,
    PostgresDirectory, PreKeyDirectory,
};

use crate::directory_concurrency::{ONE_TIME, address, provision};
use crate::pg::fresh_schema;

fn params(test: &str) -> Option<String> {
    fresh_schema(module_path!(), test)
}

/// Where the proxy closes the connection of the next take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cut {
    /// After the server committed it, before its answer reaches the
    /// directory.
    AfterCommit,
    /// Before the server sees it.
    BeforeServer,
    /// As `AfterCommit`, and the server stays out of reach (every new
    /// connection is closed at once) until [`Proxy::up`].
    AfterCommitThenDown,
}

/// A proxy on a Unix socket of its own in front of the server's, which
/// reads the PostgreSQL protocol the directory sends: the take is the
/// statement whose `Parse` holds `INSERT INTO handed_out`; when armed, the
/// proxy cuts the connection at that statement's next `Bind`.
struct Proxy {
    dir: PathBuf,
    armed: Arc<Mutex<Option<Cut>>>,
    cuts: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

/// One protocol message: its type byte, then its body.
fn read_message(from: &mut UnixStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    from.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len.checked_sub(4)?];
    from.read_exact(&mut body).ok()?;
    Some((head[0], body))
}

fn write_message(to: &mut UnixStream, kind: u8, body: &[u8]) -> Option<()> {
    to.write_all(&[kind]).ok()?;
    to.write_all(&u32::try_from(body.len() + 4).ok()?.to_be_bytes())
        .ok()?;
    to.write_all(body).ok()
}

/// The NUL-terminated strings at the start of `body`.
fn strings(body: &[u8], n: usize) -> Vec<String> {
    body.split(|b| *b == 0)
        .take(n)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl Proxy {
    /// A proxy in front of the server at Unix socket `upstream`
    /// (`HOST/.s.PGSQL.PORT`), listening on the same name in a folder of
    /// its own.
    fn start(test: &str, upstream: PathBuf, port: &str) -> Proxy {
        let dir = std::env::temp_dir().join(format!("kinseal-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let listener = UnixListener::bind(dir.join(format!(".s.PGSQL.{port}"))).unwrap();
        let proxy = Proxy {
            dir,
            armed: Arc::new(Mutex::new(None)),
            cuts: Arc::new(AtomicUsize::new(0)),
            down: Arc::new(AtomicBool::new(false)),
        };
        let (armed, cuts, down) = (
            Arc::clone(&proxy.armed),
            Arc::clone(&proxy.cuts),
            Arc::clone(&proxy.down),
        );
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let server = UnixStream::connect(&upstream).unwrap();
                let (armed, cuts, down) =
                    (Arc::clone(&armed), Arc::clone(&cuts), Arc::clone(&down));
                thread::spawn(move || relay(client, server, &armed, &cuts, &down));
            }
        });
        proxy
    }

    fn arm(&self, cut: Cut) {
        *self.armed.lock().unwrap() = Some(cut);
    }

    /// The server is reachable again.
    fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Relays one connection, client to server on this thread, server to
/// client on another, cutting both when a take's `Bind` meets an armed
/// proxy.
fn relay(
    mut client: UnixStream,
    mut server: UnixStream,
    armed: &Mutex<Option<Cut>>,
    cuts: &AtomicUsize,
    down: &AtomicBool,
) {
    // The startup message has no type byte.
    let mut len = [0u8; 4];
    if client.read_exact(&mut len).is_err() {
        return;
    }
    let mut startup = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
    if client.read_exact(&mut startup).is_err()
        || server.write_all(&len).is_err()
        || server.write_all(&startup).is_err()
    {
        return;
    }
    // Set when the server's next ReadyForQuery is to be dropped, and the
    // connection with it.
    let cut_at_ready = Arc::new(Mutex::new(false));
    let back = {
        let (mut from, mut to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
        let cut_at_ready = Arc::clone(&cut_at_ready);
        thread::spawn(move || {
            while let Some((kind, body)) = read_message(&mut from) {
                if kind == b'Z' && std::mem::take(&mut *cut_at_ready.lock().unwrap()) {
                    break;
                }
                if write_message(&mut to, kind, &body).is_none() {
                    break;
                }
            }
            let _ = from.shutdown(std::net::Shutdown::Both);
            let _ = to.shutdown(std::net::Shutdown::Both);
        })
    };
    let mut take_statement = None;
    while let Some((kind, body)) = read_message(&mut client) {
        if kind == b'P' {
            let s = strings(&body, 2);
            if s.get(1).is_some_and(|q| q.contains("INSERT INTO handed_out (app_id, user_id, device_id, instance_id, request_id, identity_key")) {
                take_statement = s.first().cloned();
            }
        }
        if kind == b'B'
            && take_statement.is_some()
            && strings(&body, 2).get(1) == take_statement.as_ref()
        {
            match armed.lock().unwrap().take() {
                Some(Cut::BeforeServer) => {
                    cuts.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Some(Cut::AfterCommit) => {
                    cuts.fetch_add(1, Ordering::SeqCst);
                    *cut_at_ready.lock().unwrap() = true;
                }
                Some(Cut::AfterCommitThenDown) => {
                    cuts.fetch_add(1, Ordering::SeqCst);
                    down.store(true, Ordering::SeqCst);
                    *cut_at_ready.lock().unwrap() = true;
                }
                None => {}
            }
        }
        if write_message(&mut server, kind, &body).is_none() {
            break;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = server.shutdown(std::net::Shutdown::Both);
    let _ = back.join();
}

/// `params` with its `host=` (a socket folder) pointed at `folder`, and
/// the server's socket; `None` for parameters that are not libpq's
/// `key=value` form with a socket folder (the proxy speaks Unix sockets
/// only).
fn through(params: &str, folder: &std::path::Path) -> Option<(String, PathBuf, String)> {
    let mut host = None;
    let mut port = "5432".to_owned();
    let mut out = Vec::new();
    for word in params.split(' ') {
        if let Some(h) = word.strip_prefix("host=") {
            host = Some(h.to_owned());
            out.push(format!("host={}", folder.display()));
        } else {
            if let Some(p) = word.strip_prefix("port=") {
                p.clone_into(&mut port);
            }
            out.push(word.to_owned());
        }
    }
    let host = host.filter(|h| h.starts_with('/'))?;
    let socket = PathBuf::from(host).join(format!(".s.PGSQL.{port}"));
    Some((out.join(" "), socket, port))
}

/// A provisioned directory for `test` that talks to the server through a
/// proxy; `None` (the test skipped) without a server, or with parameters
/// that are not libpq's `key=value` form with a socket folder.
fn proxied(test: &str) -> Option<(Proxy, PostgresDirectory)> {
    let params = params(test)?;
    let Some((_, upstream, port)) = through(&params, &std::env::temp_dir()) else {
        crate::pg::skipped(
            test,
            "KINSEAL_POSTGRES_URL is not a key=value form with a socket folder",
        );
        return None;
    };
    let proxy = Proxy::start(test, upstream, &port);
    let (params, _, _) = through(&params, &proxy.dir)?;
    let dir = PostgresDirectory::connect(&params).unwrap();
    provision(&dir);
    Some((proxy, dir))
}

fn lost_answer(test: &str, cut: Cut) {
    let Some((proxy, dir)) = proxied(test) else {
        return;
    };
    let device = address();
    let first = dir.take_bundle(&device).unwrap();
    assert_eq!(first.prekey_ids().one_time_prekey_id(), Some(1));

    proxy.arm(cut);
    let taken = dir.take_bundle(&device).unwrap();
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the proxy cut nothing"
    );
    // Exactly the next key, handed out once: the one the lost statement
    // took (after the commit) or the one the take's second run took.
    assert_eq!(taken.prekey_ids().one_time_prekey_id(), Some(2));
    assert_eq!(taken.remaining().one_time(), ONE_TIME as usize - 2);
    assert_eq!(
        dir.device(&device).unwrap().counts().one_time(),
        ONE_TIME as usize - 2,
        "{cut:?}: a key was consumed twice or not at all"
    );
    let next = dir.take_bundle(&device).unwrap();
    assert_eq!(next.prekey_ids().one_time_prekey_id(), Some(3));
}

/// The server committed the take, the answer was lost: the take looks up
/// its request id and returns the bundle it recorded.
#[test]
fn a_take_whose_commit_was_not_answered_returns_its_bundle() {
    lost_answer("lost_after_commit", Cut::AfterCommit);
}

/// The take never reached the server: the lookup finds nothing, fences
/// the request id, and the take runs again.
#[test]
fn a_take_lost_before_the_server_runs_again() {
    lost_answer("lost_before_server", Cut::BeforeServer);
}

/// The take committed, its answer was lost, and the server stayed out of
/// reach for longer than the take waits (`POSTGRES_RECOVERY_PATIENCE`,
/// so this test takes about that long): the take fails, and the next take
/// for the device hands out the bundle the lost one recorded, so its key
/// is neither lost nor handed out twice.
#[test]
fn a_take_the_server_never_answered_goes_to_the_next_requester() {
    let test = "unsettled";
    let Some((proxy, dir)) = proxied(test) else {
        return;
    };
    let device = address();
    assert_eq!(
        dir.take_bundle(&device)
            .unwrap()
            .prekey_ids()
            .one_time_prekey_id(),
        Some(1)
    );
    proxy.arm(Cut::AfterCommitThenDown);
    let started = std::time::Instant::now();
    assert!(matches!(
        dir.take_bundle(&device),
        Err(kinseal::Error::Storage(_))
    ));
    assert!(started.elapsed() >= POSTGRES_RECOVERY_PATIENCE / 2);
    proxy.up();
    // Key 2 was consumed by the lost take: it goes to this requester.
    let settled = dir.take_bundle(&device).unwrap();
    assert_eq!(settled.prekey_ids().one_time_prekey_id(), Some(2));
    assert_eq!(
        dir.device(&device).unwrap().counts().one_time(),
        ONE_TIME as usize - 2,
        "a key was consumed twice or not at all"
    );
    assert_eq!(
        dir.take_bundle(&device)
            .unwrap()
            .prekey_ids()
            .one_time_prekey_id(),
        Some(3)
    );
}

/// A version 1 database (before `handed_out`) with a device in it is
/// migrated when opened: version 2, the device's keys intact and taken
/// with a record.
#[test]
fn a_version_1_database_is_migrated() {
    let Some(params) = params("migrate_v1") else {
        return;
    };
    assert_eq!(POSTGRES_SCHEMA_VERSION, 2);
    let dir = PostgresDirectory::connect(&params).unwrap();
    provision(&dir);
    drop(dir);
    // What version 1 had: every table but migration 2's.
    let mut admin = postgres::Client::connect(&params, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "DROP TABLE handed_out; DROP SEQUENCE directory_instances;
             UPDATE schema_version SET version = 1",
        )
        .unwrap();
    let dir = PostgresDirectory::connect(&params).unwrap();
    let version: i64 = admin
        .query_one("SELECT version FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 2);
    assert_eq!(
        dir.device(&address()).unwrap().counts().one_time(),
        ONE_TIME as usize
    );
    let taken = dir.take_bundle(&address()).unwrap();
    assert_eq!(taken.prekey_ids().one_time_prekey_id(), Some(1));
    let records: i64 = admin
        .query_one("SELECT COUNT(*) FROM handed_out", &[])
        .unwrap()
        .get(0);
    assert_eq!(records, 1);
}

/// Records older than `POSTGRES_HANDED_OUT_KEEP` are pruned by the takes
/// themselves (every 1 024 takes of a directory); younger ones stay.
#[test]
fn old_records_are_pruned_by_the_takes() {
    let Some(params) = params("prune") else {
        return;
    };
    let dir = PostgresDirectory::connect(&params).unwrap();
    provision(&dir);
    let mut admin = postgres::Client::connect(&params, postgres::NoTls).unwrap();
    dir.take_bundle(&address()).unwrap();
    let keep = i64::try_from(POSTGRES_HANDED_OUT_KEEP.as_secs()).unwrap();
    admin
        .execute(
            "UPDATE handed_out SET taken_at = taken_at - $1 - 1",
            &[&keep],
        )
        .unwrap();
    let count = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one("SELECT COUNT(*) FROM handed_out", &[])
            .unwrap()
            .get(0)
    };
    // The 1 024th take prunes: the old record goes, the 1 023 new stay.
    for _ in 1..1_023 {
        dir.take_bundle(&address()).unwrap();
    }
    assert_eq!(count(&mut admin), 1_023);
    dir.take_bundle(&address()).unwrap();
    assert_eq!(count(&mut admin), 1_023);
}
