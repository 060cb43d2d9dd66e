//! The `tracing` feature: a span for each account operation with its
//! sizes, outcome and duration, and nothing secret or identifying in any
//! of them. The dev-dependency turns the feature on, so this runs with the
//! ordinary test command.
//!
//! The recorder is the process's global subscriber, not a thread-local
//! one: `tracing` caches each call site's interest process-wide, and a
//! call site first reached by another test's thread while a thread-local
//! subscriber was being set could stay disabled (about one run in four
//! recorded nothing). It keeps only the spans of the thread that set it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use kinseal::OsRng;
use kinseal::server::MemoryDirectory;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::common::{NOW, device};
use crate::groups::{deliver, mesh};

/// One span's or event's fields: names and values, as text.
type FieldList = Vec<(String, String)>;

/// Every field value any span or event recorded, as text.
#[derive(Clone)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, FieldList>>>,
    events: Arc<Mutex<Vec<FieldList>>>,
    next: Arc<AtomicU64>,
    thread: ThreadId,
}

struct Fields<'a>(&'a mut FieldList);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if std::thread::current().id() == self.thread {
            let mut fields = vec![("name".to_string(), span.metadata().name().to_string())];
            span.record(&mut Fields(&mut fields));
            self.spans.lock().unwrap().insert(id, fields);
        }
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(fields) = spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if std::thread::current().id() != self.thread {
            return;
        }
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    /// The spans, in the order they were opened, as field maps.
    fn spans(&self) -> Vec<HashMap<String, String>> {
        let spans = self.spans.lock().unwrap();
        let mut ids: Vec<_> = spans.keys().copied().collect();
        ids.sort_unstable();
        ids.iter()
            .map(|id| spans[id].iter().cloned().collect())
            .collect()
    }

    fn ops(&self, op: &str) -> Vec<HashMap<String, String>> {
        self.spans()
            .into_iter()
            .filter(|s| s.get("op").map(String::as_str) == Some(op))
            .collect()
    }

    /// Everything recorded, names and values, as one text.
    fn everything(&self) -> String {
        let mut all = String::new();
        for s in self.spans.lock().unwrap().values() {
            for (k, v) in s {
                let _ = writeln!(all, "{k}={v}");
            }
        }
        for e in self.events.lock().unwrap().iter() {
            for (k, v) in e {
                let _ = writeln!(all, "{k}={v}");
            }
        }
        all
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_operation_has_a_span_with_sizes_and_outcome_and_nothing_secret() {
    let recorder = Recorder {
        spans: Arc::default(),
        events: Arc::default(),
        next: Arc::default(),
        thread: std::thread::current().id(),
    };
    tracing::subscriber::set_global_default(recorder.clone()).unwrap();
    // A call site another thread was registering while the default was set
    // gets its interest again.
    tracing::callsite::rebuild_interest_cache();
    let secret = "the plaintext nobody may log, 7f3a";
    let (alice, bob, carol, group_id, sent_message);
    {
        let directory = MemoryDirectory::new();
        alice = device(&directory, "chirp", "alice-7f3a", 1);
        bob = device(&directory, "parley", "bob-7f3a", 1);
        carol = device(&directory, "murmur", "carol-7f3a", 1);
        alice.start(&directory, &bob);

        let message = alice.send(&bob, secret);
        assert_eq!(bob.receive(&alice, &message).unwrap(), secret.as_bytes());
        // A forgery, then a duplicate: failures, with their layer.
        let mut forged = alice.send(&bob, secret);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(bob.receive(&alice, &forged).is_err());
        assert!(bob.receive(&alice, &message).is_err());
        // The app's delivery refuses: nothing is committed.
        let refused = alice.send(&bob, secret);
        let outcome = bob
            .account
            .decrypt_with(&mut OsRng, &alice.address, &refused, NOW, |_| {
                Err::<(), _>("disk full")
            })
            .unwrap();
        assert!(outcome.is_err());

        mesh(&directory, &[&alice, &bob, &carol]);
        let users = [bob.address.user().clone(), carol.address.user().clone()];
        let (group, fan_out) = alice.account.create_group(&mut OsRng, &users, NOW).unwrap();
        deliver(&[&bob, &carol], fan_out.envelopes());
        let sent = alice
            .account
            .group_send(&mut OsRng, &group, secret.as_bytes(), NOW)
            .unwrap();
        deliver(&[&bob, &carol], sent.distributions().envelopes());
        let read = bob
            .account
            .group_decrypt(&mut OsRng, &alice.address, sent.message())
            .unwrap();
        assert_eq!(read.plaintext(), secret.as_bytes());
        let leave = carol.account.leave_group(&mut OsRng, &group, NOW).unwrap();
        deliver(&[&alice, &bob], leave.envelopes());
        group_id = group;
        sent_message = sent.message().to_vec();
    }

    // The operations, with their sizes and outcomes.
    let encrypts = recorder.ops("encrypt");
    assert!(encrypts.len() >= 3, "{:?}", recorder.spans());
    for e in &encrypts {
        assert_eq!(e["outcome"], "ok");
        assert_eq!(e["input_len"], secret.len().to_string());
        assert!(e["output_len"].parse::<usize>().unwrap() > secret.len());
        assert!(e["micros"].parse::<u64>().is_ok());
        assert_eq!(e["name"], "kinseal.account");
    }
    let outcomes: Vec<_> = recorder
        .ops("decrypt")
        .iter()
        .map(|d| (d["outcome"].clone(), d["output_len"].clone()))
        .collect();
    let len = secret.len().to_string();
    for want in [
        ("ok".to_string(), len.clone()),
        ("DecryptionFailed".to_string(), "0".to_string()),
        ("Protocol".to_string(), "0".to_string()),
        ("refused".to_string(), "0".to_string()),
    ] {
        assert!(outcomes.contains(&want), "{want:?} not in {outcomes:?}");
    }
    for op in [
        "start_session",
        "update_device_lists",
        "create_group",
        "group_send",
        "group_decrypt",
        "change_group",
    ] {
        let spans = recorder.ops(op);
        assert!(!spans.is_empty(), "no span for {op}");
        assert!(
            spans.iter().any(|s| s["outcome"] == "ok"),
            "{op}: {spans:?}"
        );
    }
    assert_eq!(recorder.ops("group_decrypt")[0]["output_len"], len);

    // Nothing that names a person or could help read a message: not the
    // plaintext, not an address, a key, a group id or a ciphertext, in any
    // spelling a field could use.
    let everything = recorder.everything();
    let mut forbidden = vec![
        secret.to_string(),
        "7f3a".to_string(),
        hex(&group_id.as_bytes()[..8]),
        format!("{:?}", &group_id.as_bytes()[..4])
            .trim_end_matches(']')
            .to_string(),
        hex(&sent_message[sent_message.len() - 8..]),
        hex(&[0x5a; 8]),
    ];
    for d in [&alice, &bob, &carol] {
        forbidden.push(hex(&d.account.identity_key().to_bytes()[..8]));
        forbidden.push(hex(&d.account.user_identity_key().to_bytes()[..8]));
    }
    for f in &forbidden {
        assert!(
            !everything.contains(f.as_str()),
            "a span holds {f:?}:\n{everything}"
        );
    }
    // The fields are these and no others.
    for span in recorder.spans() {
        for key in span.keys() {
            assert!(
                ["name", "op", "input_len", "output_len", "outcome", "micros"]
                    .contains(&key.as_str()),
                "unexpected field {key}"
            );
        }
    }
    assert!(recorder.events.lock().unwrap().is_empty());
}
