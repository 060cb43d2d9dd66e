//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! same target functions the fuzzers run, so each input that ever found a
//! path keeps being checked by `cargo test`.

#[allow(unreachable_pub)]
#[path = "../../fuzz/src/targets.rs"]
mod targets;

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        run(&data);
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is empty");
}

#[test]
fn parse_bundle_corpus() {
    replay("parse_bundle", targets::parse_bundle);
}

#[test]
fn parse_prekey_message_corpus() {
    replay("parse_prekey_message", targets::parse_prekey_message);
}

#[test]
fn parse_message_corpus() {
    replay("parse_message", targets::parse_message);
}

#[test]
fn parse_session_record_corpus() {
    replay("parse_session_record", targets::parse_session_record);
}

#[test]
fn decrypt_corpus() {
    replay("decrypt", targets::decrypt);
}

#[test]
fn respond_corpus() {
    replay("respond", targets::respond);
}

#[test]
fn two_party_corpus() {
    replay("two_party", targets::two_party);
}

#[test]
fn parse_upload_corpus() {
    replay("parse_upload", targets::parse_upload);
}

#[test]
fn parse_addressing_corpus() {
    replay("parse_addressing", targets::parse_addressing);
}

#[test]
fn group_decrypt_corpus() {
    replay("group_decrypt", targets::group_decrypt);
}

/// The group seeds are the group fixture's messages and records and must
/// stay in step with it; `KINSEAL_WRITE_FUZZ_SEEDS=1` rewrites them.
#[test]
fn group_seeds_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/group_decrypt");
    for (name, bytes) in targets::group_seeds() {
        let path = dir.join(&name);
        if std::env::var_os("KINSEAL_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}");
    }
}

#[test]
fn group_state_corpus() {
    replay("group_state", targets::group_state);
}

#[test]
fn parse_device_list_corpus() {
    replay("parse_device_list", targets::parse_device_list);
}

#[test]
fn parse_link_corpus() {
    replay("parse_link", targets::parse_link);
}

#[test]
fn parse_receipt_corpus() {
    replay("parse_receipt", targets::parse_receipt);
}

#[test]
fn parse_account_link_corpus() {
    replay("parse_account_link", targets::parse_account_link);
}

#[test]
fn account_content_corpus() {
    replay("account_content", targets::account_content);
}

/// The content seeds reach each way a content is taken: an app message,
/// a sender key, joining by genesis and by welcome, and a state sync
/// refused from another user's device.
#[test]
fn account_content_seeds_reach_every_outcome() {
    use kinseal::client::GroupEvent;
    for (name, outcome) in targets::content_seed_outcomes() {
        let event = outcome.as_ref().map(|d| d.group_event());
        match name {
            "fixture-message" => {
                assert_eq!(outcome.unwrap().plaintext(), b"hello Bob");
            }
            "fixture-empty-message" => {
                assert_eq!(event.unwrap(), None);
            }
            "fixture-distribution" => {
                assert!(
                    matches!(event, Ok(Some(GroupEvent::SenderKey { .. }))),
                    "{outcome:?}"
                );
            }
            "fixture-genesis" | "fixture-welcome" => {
                assert!(
                    matches!(event, Ok(Some(GroupEvent::Joined { .. }))),
                    "{name}: {outcome:?}"
                );
            }
            "fixture-state-sync" | "fixture-own-state-sync" => {
                assert!(outcome.is_err(), "{name}: {outcome:?}");
            }
            other => panic!("a seed this test does not know: {other}"),
        }
    }
}

#[test]
fn account_device_lists_corpus() {
    replay("account_device_lists", targets::account_device_lists);
}

#[test]
fn route_corpus() {
    replay("route", targets::route);
}

#[test]
fn parse_key_record_corpus() {
    replay("parse_key_record", targets::parse_key_record);
}

#[test]
fn open_store_record_corpus() {
    replay("open_store_record", targets::open_store_record);
}

/// The upload seed is Bob's upload from the fixture and must stay in step
/// with it; `KINSEAL_WRITE_FUZZ_SEEDS=1` rewrites it.
#[test]
fn upload_seed_is_current() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_upload/fixture-upload");
    if std::env::var_os("KINSEAL_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::write(&path, &targets::fixture().upload).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), targets::fixture().upload);
}

/// The layout seeds of the parsing targets are the fixture's messages and
/// record and must stay in step with it; `KINSEAL_WRITE_FUZZ_SEEDS=1`
/// rewrites them.
#[test]
fn layout_seeds_are_current() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, name, bytes) in targets::layout_seeds()
        .into_iter()
        .chain(targets::account_link_seeds())
        .chain(targets::device_list_account_seeds())
        .chain(targets::group_state_seeds())
        .chain(targets::content_seeds())
    {
        assert!(!bytes.is_empty(), "{target}/{name}");
        let path = corpus.join(target).join(name);
        if std::env::var_os("KINSEAL_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{target}/{name}");
    }
}

/// The key-record seeds are the fixture's three key records and must stay
/// in step with it; `KINSEAL_WRITE_FUZZ_SEEDS=1` rewrites them.
#[test]
fn key_record_seeds_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_key_record");
    for (name, bytes) in targets::key_record_seeds() {
        let path = dir.join(name);
        if std::env::var_os("KINSEAL_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}");
    }
}

/// The store-record seeds are Bob's records in the store fixture and must
/// stay in step with it; `KINSEAL_WRITE_FUZZ_SEEDS=1` rewrites them.
#[test]
fn store_record_seeds_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/open_store_record");
    for (name, bytes) in targets::store_record_seeds() {
        let path = dir.join(&name);
        if std::env::var_os("KINSEAL_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}");
    }
}
