use super::*;

fn sealed(len: usize, fill: u8) -> Vec<u8> {
    let mut out = vec![0x01, 0x30];
    out.extend_from_slice(&[fill; 4 + 24]);
    out.extend(core::iter::repeat_n(fill ^ 0x55, len + TAG_LEN));
    out
}

#[test]
fn split_round_trips_and_checks_both_parts() {
    let cold = sealed(800, 1);
    let hot = sealed(60, 2);
    let frame = SplitSealedFrame {
        cold: &cold,
        hot: &hot,
    };
    let bytes = frame.to_vec();
    assert_eq!(bytes.len(), frame.encoded_len());
    let back = SplitSealedFrame::decode(&bytes).unwrap();
    assert_eq!((back.cold, back.hot), (&cold[..], &hot[..]));
    assert_eq!(back.to_vec(), bytes);
    // Every truncation fails: the hot part is last and must be a whole
    // sealed record (its ciphertext at least a tag).
    for cut in 0..bytes.len() - hot.len() + MIN_SEALED_LEN {
        assert!(
            SplitSealedFrame::decode(&bytes[..cut]).is_err(),
            "cut {cut}"
        );
    }
    // A cold length that runs past the end, or leaves no room for a hot
    // part, fails.
    let mut long = bytes.clone();
    long[2..6].copy_from_slice(&((cold.len() + hot.len()) as u32).to_be_bytes());
    assert!(SplitSealedFrame::decode(&long).is_err());
    // A part that is not a sealed record fails.
    let mut bad = bytes.clone();
    bad[6 + 1] = 0x3b;
    assert!(matches!(
        SplitSealedFrame::decode(&bad),
        Err(DecodeError::UnexpectedType {
            expected: WireType::SealedRecord,
            found: 0x3b
        })
    ));
    let mut bad = bytes.clone();
    bad[6 + cold.len() + 1] = 0x3e;
    assert!(SplitSealedFrame::decode(&bad).is_err());
    // A plain sealed record is not a split one.
    assert!(matches!(
        SplitSealedFrame::decode(&cold),
        Err(DecodeError::UnexpectedType {
            expected: WireType::SplitSealedRecord,
            found: 0x30
        })
    ));
}

#[test]
fn patch_round_trips_and_rejects_every_malformed_run() {
    let a = [7u8; 32];
    let b = [9u8; 3];
    let frame = RecordPatchFrame {
        record_len: 100,
        runs: vec![
            PatchRun {
                offset: 10,
                bytes: &a,
            },
            PatchRun {
                offset: 43,
                bytes: &b,
            },
        ],
    };
    let bytes = frame.to_vec();
    assert_eq!(bytes.len(), frame.encoded_len());
    let back = RecordPatchFrame::decode(&bytes).unwrap();
    assert_eq!(back.record_len, 100);
    assert_eq!(back.runs, frame.runs);
    assert_eq!(back.to_vec(), bytes);
    for cut in 0..bytes.len() {
        assert!(
            RecordPatchFrame::decode(&bytes[..cut]).is_err(),
            "cut {cut}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        RecordPatchFrame::decode(&long),
        Err(DecodeError::TrailingBytes { count: 1, .. })
    ));
    let empty = RecordPatchFrame {
        record_len: 5,
        runs: Vec::new(),
    };
    assert_eq!(RecordPatchFrame::decode(&empty.to_vec()).unwrap().runs, []);

    let with = |record_len: usize, runs: &[(usize, &[u8])]| {
        RecordPatchFrame {
            record_len,
            runs: runs
                .iter()
                .map(|&(offset, bytes)| PatchRun { offset, bytes })
                .collect(),
        }
        .to_vec()
    };
    let fails = |bytes: Vec<u8>| RecordPatchFrame::decode(&bytes).is_err();
    // Adjacent (no byte apart), overlapping, out of order: refused.
    assert!(fails(with(100, &[(10, &a), (42, &b)])));
    assert!(fails(with(100, &[(10, &a), (30, &b)])));
    assert!(fails(with(100, &[(43, &b), (10, &a)])));
    // Past the record's end, by one byte or by wrapping around.
    assert!(fails(with(41, &[(10, &a)])));
    assert!(!fails(with(42, &[(10, &[1; 32])])));
    assert!(fails(with(100, &[(u32::MAX as usize, &b)])));
    // An empty run, too many runs, too many bytes.
    assert!(fails(with(100, &[(10, &[])])));
    let many: Vec<(usize, &[u8])> = (0..=MAX_PATCH_RUNS).map(|i| (i * 2, &b[..1])).collect();
    assert!(fails(with(100, &many)));
    assert!(!fails(with(100, &many[..MAX_PATCH_RUNS])));
    let big = [1u8; MAX_PATCH_BYTES];
    assert!(!fails(with(1000, &[(0, &big)])));
    assert!(fails(with(1000, &[(0, &big), (500, &b[..1])])));
    assert!(fails(with(1000, &[(0, &[1; MAX_PATCH_BYTES + 1])])));
}

proptest::proptest! {
    /// Any bytes: no panic, and what decodes encodes back to exactly the
    /// bytes it came from (one encoding per value).
    #[test]
    fn arbitrary_bytes_decode_canonically_or_not_at_all(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        count in 0u8..12,
    ) {
        let mut patch = vec![0x01, TYPE_RECORD_PATCH, 0, 0, 1, 0, count];
        patch.extend_from_slice(&body);
        if let Ok(frame) = RecordPatchFrame::decode(&patch) {
            proptest::prop_assert_eq!(frame.to_vec(), patch);
        }
        let mut split = vec![0x01, TYPE_SPLIT_SEALED];
        split.extend_from_slice(&body);
        if let Ok(frame) = SplitSealedFrame::decode(&split) {
            proptest::prop_assert_eq!(frame.to_vec(), split);
        }
    }
}
