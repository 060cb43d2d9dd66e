//! What the crash tests (`crash.rs`) need besides kinseal:
//! the stream file the children read, starting the children and reading
//! what they report, a temporary directory.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variables that make `worker` run, and what they carry.
pub const ENV_DB: &str = "KINSEAL_CRASH_DB";
pub const ENV_STREAM: &str = "KINSEAL_CRASH_STREAM";
pub const ENV_FIRST: &str = "KINSEAL_CRASH_FIRST";
pub const ENV_STEP: &str = "KINSEAL_CRASH_STEP";
/// Set: the worker decrypts with `Account::decrypt_batch`, this many
/// messages per batch, instead of one `decrypt_with` per message.
pub const ENV_BATCH: &str = "KINSEAL_CRASH_BATCH";
/// A directory: the worker creates `ready-<first>` in it once its store is
/// open, then waits for `go` before decrypting.
pub const ENV_GATE: &str = "KINSEAL_CRASH_GATE";

/// What starts each line a worker writes.
pub const MARK: &str = "@worker: ";

/// The full name of the `worker` test in this binary (`crash.rs`), the
/// filter a child runs with: it changes whenever that file moves.
pub const WORKER: &str = "crash::worker";

/// One message of a stream: who sent it, its bytes and what it says.
#[derive(Clone)]
pub struct Item {
    pub sender: u8,
    pub ciphertext: Vec<u8>,
    pub plaintext: Vec<u8>,
}

/// Writes a stream for the workers: per message, the sender's number,
/// then the ciphertext and the plaintext, each after its big-endian u32
/// length.
pub fn write_stream(path: &Path, items: &[Item]) {
    let mut out = Vec::new();
    for item in items {
        out.push(item.sender);
        for bytes in [&item.ciphertext, &item.plaintext] {
            out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
    std::fs::write(path, out).unwrap();
}

/// Reads what [`write_stream`] wrote.
pub fn read_stream(path: &Path) -> Vec<Item> {
    let bytes = std::fs::read(path).unwrap();
    let field = |at: &mut usize| {
        let len = u32::from_be_bytes(bytes[*at..*at + 4].try_into().unwrap()) as usize;
        let value = bytes[*at + 4..*at + 4 + len].to_vec();
        *at += 4 + len;
        value
    };
    let mut items = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let sender = bytes[at];
        at += 1;
        let ciphertext = field(&mut at);
        let plaintext = field(&mut at);
        items.push(Item {
            sender,
            ciphertext,
            plaintext,
        });
    }
    items
}

/// Starts `worker` in a child process.
pub fn spawn_worker(
    db: &Path,
    stream: &Path,
    first: usize,
    step: usize,
    gate: Option<&Path>,
) -> Child {
    spawn_named(WORKER, db, stream, first, step, gate)
}

/// Starts the ignored test `worker` (its full name) in a child process.
pub fn spawn_named(
    worker: &str,
    db: &Path,
    stream: &Path,
    first: usize,
    step: usize,
    gate: Option<&Path>,
) -> Child {
    spawn_with(worker, db, stream, first, step, gate, None)
}

/// Starts `worker` decrypting `batch` messages per `decrypt_batch` call.
pub fn spawn_batch_worker(db: &Path, stream: &Path, first: usize, batch: usize) -> Child {
    spawn_with(WORKER, db, stream, first, 1, None, Some(batch))
}

fn spawn_with(
    worker: &str,
    db: &Path,
    stream: &Path,
    first: usize,
    step: usize,
    gate: Option<&Path>,
    batch: Option<usize>,
) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            worker,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_DB, db)
        .env(ENV_STREAM, stream)
        .env(ENV_FIRST, first.to_string())
        .env(ENV_STEP, step.to_string())
        .env_remove(ENV_GATE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(gate) = gate {
        command.env(ENV_GATE, gate);
    }
    match batch {
        Some(batch) => command.env(ENV_BATCH, batch.to_string()),
        None => command.env_remove(ENV_BATCH),
    };
    command.spawn().unwrap()
}

/// What a finished (or killed) child printed: the indices it decrypted,
/// in order, and its errors.
#[derive(Default)]
pub struct Report {
    pub decrypted: Vec<usize>,
    /// When each was decrypted (`clock_ns`).
    pub times: Vec<u128>,
    pub errors: Vec<String>,
    pub stderr: String,
}

pub fn collect(child: Child) -> (Report, std::process::ExitStatus) {
    // Reads both pipes to the end while waiting: a child never blocks on
    // a full pipe.
    let output = child.wait_with_output().unwrap();
    let mut report = Report {
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        ..Report::default()
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    // A stale filter would let every child pass having done nothing.
    assert!(
        !stdout.contains("running 0 tests"),
        "no worker test of that name in {}",
        std::env::current_exe().unwrap().display()
    );
    // The harness may print on the same line ("test crash::worker ... ").
    for line in stdout.lines() {
        let Some((_, said)) = line.split_once(MARK) else {
            continue;
        };
        if let Some(rest) = said.strip_prefix("decrypted ") {
            let (i, at) = rest.split_once(" at ").unwrap();
            report.decrypted.push(i.parse().unwrap());
            report.times.push(at.parse().unwrap());
        } else {
            report.errors.push(said.to_owned());
        }
    }
    (report, output.status)
}

/// Kills `child` after `delay` (if it has not finished) and returns the
/// indices it reported decrypted, checked: it exited or was killed, said
/// no error, and reported `next`, `next + 1`, … in order.
pub fn kill_after(mut child: Child, delay: Duration, next: usize) -> Vec<usize> {
    std::thread::sleep(delay);
    // If the child finished already, this does nothing.
    let _ = child.kill();
    let (report, status) = collect(child);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.success() || status.signal() == Some(9),
            "worker failed: {}",
            report.stderr
        );
    }
    let _ = status;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let reported = report.decrypted;
    assert!(
        reported.iter().copied().eq(next..next + reported.len()),
        "out of order from {next}: {reported:?}"
    );
    reported
}

/// How long the crash tests let a child run before they kill it: a
/// random delay under a window that grows while kills come before the
/// child has decrypted anything, halves when a child got through the rest
/// of its stream before the kill (the window is too long for this
/// machine), and shrinks when a child got far.
pub struct KillWindow {
    ms: u64,
    far: usize,
    min_ms: u64,
}

impl KillWindow {
    /// A window of `start_ms` milliseconds, which a round that reported
    /// more than `far` messages shrinks, to no less than `min_ms`.
    pub fn new(start_ms: u64, far: usize, min_ms: u64) -> Self {
        KillWindow {
            ms: start_ms,
            far,
            min_ms,
        }
    }

    /// A delay under the window, from the random `draw`.
    pub fn delay(&self, draw: u64) -> Duration {
        Duration::from_millis(draw % self.ms)
    }

    /// Adapts the window to a round whose child reported `reported`
    /// messages, and got through the rest of its stream if `finished`.
    pub fn adapt(&mut self, reported: usize, finished: bool) {
        if reported == 0 {
            self.ms = (self.ms + 10).min(2_000);
        } else if finished {
            self.ms = (self.ms / 2).max(2);
        } else if reported > self.far {
            self.ms = (self.ms * 3 / 4).max(self.min_ms);
        }
    }
}

/// What one kill left, as the parent found it.
#[derive(Debug, Default)]
pub struct AfterKill {
    /// The child reported its last message but died before the commit:
    /// it decrypted again.
    pub delivered_twice: bool,
    /// The child died mid-stream: the parent decrypted the message after
    /// the last one reported.
    pub by_parent: bool,
}

/// Checks what a kill left of `stream`, the child having reported
/// `reported` from `next`: each message it reported before its last is
/// refused as a duplicate; the last decrypts to its plaintext (killed
/// between the delivery and the commit) or is a duplicate (after the
/// commit); the message after it, if any, decrypts (nothing is committed
/// without its delivery), and is then taken as decrypted. `duplicate`
/// recognises the layer's duplicate error.
pub fn check_after_kill(
    stream: &[Item],
    reported: &[usize],
    next: usize,
    decrypt: impl Fn(&Item) -> kinseal::Result<Vec<u8>>,
    duplicate: impl Fn(&kinseal::Error) -> bool,
) -> AfterKill {
    let mut after = AfterKill::default();
    if let Some((&last, committed)) = reported.split_last() {
        for &i in committed {
            match decrypt(&stream[i]) {
                Err(e) if duplicate(&e) => {}
                other => panic!("message {i} committed, then {other:?}"),
            }
        }
        match decrypt(&stream[last]) {
            Ok(plaintext) => {
                assert_eq!(plaintext, stream[last].plaintext);
                after.delivered_twice = true;
            }
            Err(e) if duplicate(&e) => {}
            Err(e) => panic!("message {last} after the kill: {e:?}"),
        }
    }
    let following = next + reported.len();
    if let Some(item) = stream.get(following) {
        match decrypt(item) {
            Ok(plaintext) => assert_eq!(plaintext, item.plaintext),
            Err(e) => panic!("message {following} was lost: {e:?}"),
        }
        after.by_parent = true;
    }
    after
}

/// Waits for a child that should finish by itself, and checks it did.
pub fn finish(child: Child) -> Report {
    let (report, status) = collect(child);
    assert!(status.success(), "worker failed: {}", report.stderr);
    report
}

/// Waits (up to a minute) until `gate` holds the `ready-<first>` file of
/// each worker, then lets them all go.
pub fn open_gate(gate: &Path, firsts: &[usize]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !firsts
        .iter()
        .all(|first| gate.join(format!("ready-{first}")).exists())
    {
        assert!(Instant::now() < deadline, "the workers never got ready");
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::write(gate.join("go"), b"").unwrap();
}

/// In a worker: says it is ready, then waits (up to a minute, so that no
/// worker outlives a failed test for long) until the gate opens.
pub fn pass_gate(gate: &Path, first: usize) {
    std::fs::write(gate.join(format!("ready-{first}")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !gate.join("go").exists() {
        assert!(Instant::now() < deadline, "the gate never opened");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The wall clock in nanoseconds, to order the decrypts of two processes.
pub fn clock_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A directory in the temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "kinseal-crash-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How many times the decrypts of the two reports alternate, in time order.
pub fn alternations(reports: &[Report; 2]) -> usize {
    let mut events: Vec<(u128, usize)> = reports
        .iter()
        .enumerate()
        .flat_map(|(who, r)| r.times.iter().map(move |&t| (t, who)))
        .collect();
    events.sort_unstable();
    events.windows(2).filter(|w| w[0].1 != w[1].1).count()
}
