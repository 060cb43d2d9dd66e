//! The known-answer vector generator and its drift guard.
//!
//! Every file under `test-vectors/` (except `wycheproof/`) is produced here
//! from fixed seeds. The generator runs the real protocol code and, next to
//! it, recomputes every intermediate value straight from the primitives as
//! `docs/PROTOCOL.md` describes them, asserting the two agree; it then
//! writes both the inputs and every intermediate into JSON.
//!
//! `cargo test vectors` regenerates the files in memory and fails on any
//! byte of difference from the committed ones. Changing the vectors is an
//! explicit step: `KINSEAL_REGENERATE_VECTORS=1 cargo test --lib vectors`,
//! then review and commit the diff (see `test-vectors/README.md`).

mod account_link;
mod addressing;
mod content;
mod conversation;
mod device_list;
mod group;
mod group_state;
mod handshake;
mod negative;
mod provisioning;
mod receipt;
mod safety;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A generator seeded with a fixed label, so each file has its own stream.
pub(crate) fn seeded(label: &str) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&crate::crypto::kdf::sha256(&[
        b"kinseal vectors\0",
        label.as_bytes(),
    ]));
    ChaCha20Rng::from_seed(seed)
}

/// A copy of `rng` at its current position, to see what it will draw next.
pub(crate) fn fork(rng: &ChaCha20Rng) -> ChaCha20Rng {
    ChaCha20Rng::deserialize_state(&rng.serialize_state())
}

fn generate() -> BTreeMap<&'static str, Value> {
    let mut files = BTreeMap::new();
    files.insert("identity.json", handshake::identity_file());
    files.insert("handshake.json", handshake::handshake_file());
    files.insert("conversation.json", conversation::conversation_file());
    files.insert("negative.json", negative::negative_file());
    files.insert("safety-number.json", safety::safety_number_file());
    files.insert("addressing.json", addressing::addressing_file());
    files.insert("device-list.json", device_list::device_list_file());
    files.insert("provisioning.json", provisioning::provisioning_file());
    files.insert("receipt.json", receipt::receipt_file());
    files.insert("account-link.json", account_link::account_link_file());
    files.insert("group-messages.json", group::group_file());
    files.insert("group-state.json", group_state::group_state_file());
    files.insert("account-content.json", content::content_file());
    files
}

fn render(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-vectors")
}

#[test]
fn vectors_match_committed_files() {
    let regenerate = std::env::var_os("KINSEAL_REGENERATE_VECTORS").is_some();
    for (name, value) in generate() {
        let path = dir().join(name);
        let fresh = render(&value);
        if regenerate {
            std::fs::write(&path, &fresh).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; regenerate the vectors", path.display()));
        assert!(
            committed == fresh,
            "{name} differs from what the generator produces: the protocol or the generator \
             changed. If that is intended, run KINSEAL_REGENERATE_VECTORS=1 cargo test --lib \
             vectors and review the diff."
        );
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(
        render(&generate()["handshake.json"]),
        render(&generate()["handshake.json"])
    );
}
