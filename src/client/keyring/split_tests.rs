use proptest::prelude::*;

use super::*;
use crate::OsRng;
use crate::address::DeviceAddress;
use crate::client::StorageKey;

fn ring() -> StorageKeyring {
    StorageKeyring::new(StorageKey::new(1, &[1; 32]))
}

fn peer(device: u32) -> DeviceAddress {
    DeviceAddress::new(b"app", b"peer", device).unwrap()
}

/// Deterministic test bytes.
fn bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

fn apply(old: &[u8], runs: &[PatchRun<'_>]) -> Vec<u8> {
    let mut out = old.to_vec();
    for run in runs {
        out[run.offset..run.offset + run.bytes.len()].copy_from_slice(run.bytes);
    }
    out
}

#[test]
fn a_patched_record_opens_as_the_new_record_and_keeps_the_cold_bytes() {
    let ring = ring();
    let a = peer(1);
    let here = RecordKey::Sessions(&a);
    let old = bytes(1, 800);
    let (first, base) = ring.seal_split(&mut OsRng, here, &old).unwrap();
    let (opened, reopened_base) = ring.open_with_base(here, &first).unwrap();
    assert_eq!(&opened[..], &old[..]);
    assert_eq!(reopened_base.unwrap().sealed, base.sealed);

    // A chain key and an index change: a patch.
    let mut new = old.clone();
    new[100..132].copy_from_slice(&[0xee; 32]);
    new[140] ^= 1;
    new[700] ^= 0x80;
    let second = ring
        .seal_patch(&mut OsRng, here, &base, &new)
        .unwrap()
        .unwrap();
    let cold_end = 6 + base.sealed.len();
    assert_eq!(second[..cold_end], first[..cold_end], "the cold part moved");
    assert!(second.len() < first.len() + 100);
    let (opened, second_base) = ring.open_with_base(here, &second).unwrap();
    assert_eq!(&opened[..], &new[..]);
    // The base is still the cold record, not the patched one.
    assert_eq!(&second_base.unwrap().record[..], &old[..]);
    assert_eq!(&ring.open_raw(here, &second).unwrap()[..], &new[..]);
    assert_eq!(&ring.open(here, &second).unwrap()[..], &new[..]);

    // A change of length, or of too many bytes, is no patch.
    assert!(
        ring.seal_patch(&mut OsRng, here, &base, &old[1..])
            .unwrap()
            .is_none()
    );
    let mut far = old.clone();
    for b in far.iter_mut().step_by(50) {
        *b ^= 1;
    }
    assert!(
        ring.seal_patch(&mut OsRng, here, &base, &far)
            .unwrap()
            .is_none()
    );
    let mut wide = old.clone();
    wide[..=MAX_PATCH_BYTES].iter_mut().for_each(|b| *b ^= 1);
    assert!(
        ring.seal_patch(&mut OsRng, here, &base, &wide)
            .unwrap()
            .is_none()
    );
}

#[test]
fn every_flipped_bit_of_a_split_record_is_refused() {
    let ring = ring();
    let a = peer(1);
    let here = RecordKey::Sessions(&a);
    let old = bytes(2, 120);
    let (_, base) = ring.seal_split(&mut OsRng, here, &old).unwrap();
    let mut new = old.clone();
    new[10] ^= 1;
    let value = ring
        .seal_patch(&mut OsRng, here, &base, &new)
        .unwrap()
        .unwrap();
    for i in 0..value.len() * 8 {
        let mut bad = value.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert!(
            ring.open_with_base(here, &bad).is_err(),
            "bit {i} flipped opened"
        );
    }
    for cut in 0..value.len() {
        assert!(
            ring.open_with_base(here, &value[..cut]).is_err(),
            "cut at {cut} opened"
        );
    }
    let mut long = value.clone();
    long.push(0);
    assert!(ring.open_with_base(here, &long).is_err());
}

#[test]
fn parts_open_only_together_and_only_where_they_were_sealed() {
    let ring = ring();
    let (a, b) = (peer(1), peer(2));
    let here = RecordKey::Sessions(&a);
    let record = bytes(3, 300);
    let (one, base_one) = ring.seal_split(&mut OsRng, here, &record).unwrap();
    let (two, _) = ring.seal_split(&mut OsRng, here, &record).unwrap();
    let split = |v: &[u8]| {
        let f = SplitSealedFrame::decode(v).unwrap();
        (f.cold.to_vec(), f.hot.to_vec())
    };
    let (cold_one, hot_one) = split(&one);
    let (cold_two, hot_two) = split(&two);
    let join = |cold: &[u8], hot: &[u8]| SplitSealedFrame { cold, hot }.to_vec();
    // A hot part with another record's cold part (the same record, sealed
    // twice) does not open.
    for mixed in [join(&cold_one, &hot_two), join(&cold_two, &hot_one)] {
        assert_eq!(
            ring.open_with_base(here, &mixed).err(),
            Some(StorageError::SealBroken { table: "sessions" })
        );
    }
    // Neither part opens as a whole record, nor as the other part.
    assert!(ring.open_with_base(here, &cold_one).is_err());
    assert!(ring.open_with_base(here, &hot_one).is_err());
    assert!(
        ring.open_with_base(here, &join(&hot_one, &cold_one))
            .is_err()
    );
    assert!(
        ring.open_with_base(here, &join(&cold_one, &cold_one))
            .is_err()
    );
    // A whole record as a cold part does not open.
    let whole = ring.seal(&mut OsRng, here, &record).unwrap();
    assert!(ring.open_with_base(here, &join(&whole, &hot_one)).is_err());
    // Nor anywhere else.
    assert_eq!(
        ring.open_with_base(RecordKey::Sessions(&b), &one).err(),
        Some(StorageError::SealBroken { table: "sessions" })
    );
    assert!(
        ring.open_with_base(RecordKey::PeerIdentity(&a), &one)
            .is_err()
    );
    // A patch written for a base opens only with that base's cold part.
    let mut new = record.clone();
    new[0] ^= 1;
    let patched = ring
        .seal_patch(&mut OsRng, here, &base_one, &new)
        .unwrap()
        .unwrap();
    let (_, hot_patched) = split(&patched);
    assert!(
        ring.open_with_base(here, &join(&cold_two, &hot_patched))
            .is_err()
    );
    assert_eq!(
        &ring
            .open_with_base(here, &join(&cold_one, &hot_patched))
            .unwrap()
            .0[..],
        &new[..]
    );
    // A whole record still opens, with no base.
    let (opened, base) = ring.open_with_base(here, &whole).unwrap();
    assert_eq!((&opened[..], base.is_none()), (&record[..], true));
}

#[test]
fn a_base_under_an_old_key_is_not_patched_and_split_records_go_stale() {
    let old_ring = ring();
    let a = peer(1);
    let here = RecordKey::Sessions(&a);
    let record = bytes(4, 200);
    let (value, base) = old_ring.seal_split(&mut OsRng, here, &record).unwrap();
    assert!(!old_ring.is_stale(&value));
    let rotated = StorageKeyring::new(StorageKey::new(2, &[2; 32]))
        .with_previous(StorageKey::new(1, &[1; 32]))
        .unwrap();
    assert!(rotated.is_stale(&value));
    let (opened, reopened) = rotated.open_with_base(here, &value).unwrap();
    assert_eq!(&opened[..], &record[..]);
    let mut new = record.clone();
    new[5] ^= 1;
    assert!(
        rotated
            .seal_patch(&mut OsRng, here, &reopened.unwrap(), &new)
            .unwrap()
            .is_none()
    );
    assert!(
        rotated
            .seal_patch(&mut OsRng, here, &base, &new)
            .unwrap()
            .is_none()
    );
    let (fresh, _) = rotated.seal_split(&mut OsRng, here, &new).unwrap();
    assert!(!rotated.is_stale(&fresh));
    assert!(rotated.is_stale(b"\x01\x3ejunk"));
}

#[test]
fn changes_close_together_share_a_run() {
    let old = vec![0u8; 400];
    let mut new = old.clone();
    new[10] = 1;
    new[10 + MERGE_GAP] = 1;
    new[10 + 2 * MERGE_GAP + 2] = 1;
    let runs = diff(&old, &new).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].offset, runs[0].bytes.len()), (10, MERGE_GAP + 1));
    assert_eq!(
        (runs[1].offset, runs[1].bytes.len()),
        (10 + 2 * MERGE_GAP + 2, 1)
    );
    assert_eq!(diff(&old, &old).unwrap(), []);
    assert_eq!(diff(&old, &old[1..]), None);
}

proptest! {
    /// Whatever changed, a patch, when there is one, gives the new record
    /// back from the old one, in a frame the decoder accepts; and there is
    /// none only when the changes do not fit one.
    #[test]
    fn a_patch_applied_gives_the_new_record(
        old in proptest::collection::vec(any::<u8>(), 0..700),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1usize..40, any::<u8>()), 0..12),
    ) {
        let mut new = old.clone();
        for (at, len, x) in &edits {
            if new.is_empty() { break; }
            let start = at.index(new.len());
            let end = (start + len).min(new.len());
            new[start..end].iter_mut().for_each(|b| *b ^= x | 1);
        }
        let changed = old.iter().zip(&new).filter(|(a, b)| a != b).count();
        match diff(&old, &new) {
            Some(runs) => {
                prop_assert_eq!(apply(&old, &runs), new.clone());
                let frame = RecordPatchFrame { record_len: new.len(), runs };
                let encoded = frame.to_vec();
                let back = RecordPatchFrame::decode(&encoded).unwrap();
                prop_assert_eq!(apply(&old, &back.runs), new.clone());
            }
            None => prop_assert!(changed > 0, "an unchanged record had no patch"),
        }
        if changed > MAX_PATCH_BYTES {
            prop_assert!(diff(&old, &new).is_none());
        }
    }
}
