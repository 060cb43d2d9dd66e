//! Records stored in two seals (STORAGE.md §2.5): a *cold* part, the
//! record as of its last full write, and a *hot* part, a patch of the
//! bytes that changed since. A message changes a session set by a few
//! dozen bytes (a chain key, an index, a time); sealing those alone, and
//! keeping the cold part's sealed bytes as they were, costs a fraction of
//! sealing the whole set again.
//!
//! The hot part's associated data holds the cold part's nonce and tag, so
//! a hot part opens only with the cold part it was written for. Both carry
//! the record's table and locator, under labels of their own, so neither
//! opens as a whole record, as the other part, or anywhere else.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{RecordKey, StorageKeyring};
use crate::StorageError;
use crate::crypto::labels;
use crate::error::{DecodeError, MisuseError};
use crate::sizes::{SEAL_NONCE_LEN, TAG_LEN};
use crate::wire::{
    Frame, MAX_PATCH_BYTES, MAX_PATCH_RUNS, MAX_SEALED_PLAINTEXT_LEN, PatchRun, RecordPatchFrame,
    SealedFrame, SplitSealedFrame, TYPE_SPLIT_SEALED,
};

/// Changed bytes with at most this many unchanged bytes between them go
/// into one run: a run's own framing (offset and length) is six bytes.
const MERGE_GAP: usize = 6;

/// A split record's cold part as stored, with the record it holds: what
/// the next write patches. Kept with the decoded record (the account keeps
/// it with the session set it caches).
pub(crate) struct SealBase {
    /// The cold part's sealed bytes.
    sealed: Vec<u8>,
    /// What binds a hot part to it (see [`binding`]).
    binding: [u8; BINDING_LEN],
    /// The record the cold part holds (secret).
    record: Zeroizing<Vec<u8>>,
}

/// The length of what binds a hot part to its cold part.
const BINDING_LEN: usize = SEAL_NONCE_LEN + TAG_LEN;

/// The two parts of a split record: `None` if `value` is not one (its
/// type byte is another's), an error if it claims to be one and is
/// malformed.
pub(super) fn parts(
    value: &[u8],
) -> Option<Result<(SealedFrame<'_>, SealedFrame<'_>), DecodeError>> {
    is_split(value).then(|| SplitSealedFrame::decode(value).and_then(|f| f.parts()))
}

/// Whether `value` claims to be a split record (by its type byte; the
/// decoder checks the rest).
fn is_split(value: &[u8]) -> bool {
    value.get(1) == Some(&TYPE_SPLIT_SEALED)
}

/// What binds a hot part to its cold part: the cold part's nonce and tag.
fn binding(cold: &SealedFrame<'_>) -> [u8; BINDING_LEN] {
    let mut out = [0u8; BINDING_LEN];
    let (nonce, tag) = out.split_at_mut(SEAL_NONCE_LEN);
    nonce.copy_from_slice(&cold.nonce);
    // A sealed frame's ciphertext is at least a tag long (checked when it
    // was decoded).
    let at = cold.ciphertext.len().saturating_sub(TAG_LEN);
    if let Some(t) = cold
        .ciphertext
        .get(at..)
        .and_then(|t| <&[u8; TAG_LEN]>::try_from(t).ok())
    {
        tag.copy_from_slice(t);
    }
    out
}

/// The runs where `new` differs from `old`, if the two are as long and
/// the runs fit a patch (at most [`MAX_PATCH_RUNS`] runs replacing at
/// most [`MAX_PATCH_BYTES`] bytes in all); `None` otherwise. Changes with
/// at most [`MERGE_GAP`] unchanged bytes between them share a run.
///
/// # Security
/// The comparison is not constant-time: its time depends on where the
/// records differ. Both records are this device's own (the one it holds
/// and the one it just encoded); no bytes an attacker chose are compared
/// with a secret.
pub(crate) fn diff<'a>(old: &[u8], new: &'a [u8]) -> Option<Vec<PatchRun<'a>>> {
    if old.len() != new.len() {
        return None;
    }
    let mut spans = Spans::default();
    // Eight bytes at a time (one comparison each), then the bytes of a
    // word that differs, then the tail.
    let (old_words, old_tail) = old.as_chunks::<8>();
    let (new_words, new_tail) = new.as_chunks::<8>();
    for (w, (o, n)) in old_words.iter().zip(new_words).enumerate() {
        if o != n {
            for (k, _) in o.iter().zip(n).enumerate().filter(|(_, (a, b))| a != b) {
                spans.mark(w * 8 + k)?;
            }
        }
    }
    let tail_at = old_words.len() * 8;
    for (k, _) in old_tail
        .iter()
        .zip(new_tail)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
    {
        spans.mark(tail_at + k)?;
    }
    spans
        .runs
        .into_iter()
        .map(|(start, end)| {
            Some(PatchRun {
                offset: start,
                bytes: new.get(start..end)?,
            })
        })
        .collect()
}

/// The runs a diff has found so far, as `start..end` (`end` past the last
/// changed byte), and the bytes they cover.
#[derive(Default)]
struct Spans {
    runs: Vec<(usize, usize)>,
    total: usize,
}

impl Spans {
    /// Adds the changed byte at `p` (past every byte added before it);
    /// `None` once the runs no longer fit a patch.
    fn mark(&mut self, p: usize) -> Option<()> {
        match self.runs.last_mut() {
            Some((_, end)) if p.saturating_sub(*end) <= MERGE_GAP => {
                self.total += p + 1 - *end;
                *end = p + 1;
            }
            _ => {
                if self.runs.len() == MAX_PATCH_RUNS {
                    return None;
                }
                self.runs.push((p, p + 1));
                self.total += 1;
            }
        }
        (self.total <= MAX_PATCH_BYTES).then_some(())
    }
}

impl StorageKeyring {
    /// Seals `record` for `key` as a split record whose cold part holds
    /// all of it (and whose hot part patches nothing). Returns the bytes
    /// to store and the base that later writes patch.
    ///
    /// # Errors
    /// [`MisuseError::PlaintextTooLong`] for a record longer than a seal
    /// takes.
    pub(crate) fn seal_split<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        key: RecordKey<'_>,
        record: &[u8],
    ) -> crate::Result<(Vec<u8>, SealBase)> {
        let too_long = MisuseError::PlaintextTooLong {
            max: MAX_SEALED_PLAINTEXT_LEN,
            found: record.len(),
        };
        if record.len() > MAX_SEALED_PLAINTEXT_LEN {
            return Err(too_long.into());
        }
        let sealed = self
            .seal_part(rng, labels::STORAGE_COLD_AD, key, &[], record)
            .map_err(|()| crate::Error::from(too_long))?;
        let binding = SealedFrame::decode(&sealed)
            .map(|cold| binding(&cold))
            .map_err(|_: DecodeError| StorageError::InvalidRecord { table: key.table() })?;
        let base = SealBase {
            sealed,
            binding,
            record: Zeroizing::new(record.to_vec()),
        };
        let patch = RecordPatchFrame {
            record_len: record.len(),
            runs: Vec::new(),
        };
        Ok((self.seal_hot(rng, key, &base, &patch)?, base))
    }

    /// Seals `record` for `key` as a patch of `base`, if it differs from
    /// the record `base` holds by few enough bytes (see [`diff`]) and
    /// `base` is sealed under the current key. Returns the bytes to store
    /// (`base`'s cold part, unchanged, and a new hot part), or `None` when
    /// the record has to be sealed whole again ([`StorageKeyring::seal_split`]).
    pub(crate) fn seal_patch<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        key: RecordKey<'_>,
        base: &SealBase,
        record: &[u8],
    ) -> crate::Result<Option<Vec<u8>>> {
        if self.is_stale(&base.sealed) {
            return Ok(None);
        }
        let Some(runs) = diff(&base.record, record) else {
            return Ok(None);
        };
        let patch = RecordPatchFrame {
            record_len: record.len(),
            runs,
        };
        Ok(Some(self.seal_hot(rng, key, base, &patch)?))
    }

    /// `base`'s cold part and a hot part sealing `patch`, as one split
    /// record.
    fn seal_hot<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        key: RecordKey<'_>,
        base: &SealBase,
        patch: &RecordPatchFrame<'_>,
    ) -> crate::Result<Vec<u8>> {
        let plain = patch.to_secret_vec();
        let hot = self
            .seal_part(rng, labels::STORAGE_HOT_AD, key, &base.binding, &plain)
            .map_err(|()| StorageError::InvalidRecord { table: key.table() })?;
        Ok(SplitSealedFrame {
            cold: &base.sealed,
            hot: &hot,
        }
        .to_vec())
    }

    /// Opens a stored record for `key`, sealed whole (§2.2) or split
    /// (§2.5): the record, and for a split one the base its next write
    /// can patch.
    ///
    /// # Errors
    /// As [`StorageKeyring::open`]; a split record also fails with
    /// [`StorageError::SealBroken`] when its hot part was written for
    /// another cold part, and with [`StorageError::InvalidRecord`] when its
    /// patch does not fit the cold record.
    pub(crate) fn open_with_base(
        &self,
        key: RecordKey<'_>,
        value: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, Option<SealBase>), StorageError> {
        let table = key.table();
        let invalid = |_: DecodeError| StorageError::InvalidRecord { table };
        if !is_split(value) {
            let frame = SealedFrame::decode(value).map_err(invalid)?;
            return Ok((self.open_part(labels::STORAGE_AD, key, &[], &frame)?, None));
        }
        let split = SplitSealedFrame::decode(value).map_err(invalid)?;
        let (cold, hot) = split.parts().map_err(invalid)?;
        // The hot part first: it is short, and a part from elsewhere fails
        // there as well as anywhere.
        let patch_bytes = self.open_part(labels::STORAGE_HOT_AD, key, &binding(&cold), &hot)?;
        let record = self.open_part(labels::STORAGE_COLD_AD, key, &[], &cold)?;
        let patch = RecordPatchFrame::decode(&patch_bytes).map_err(invalid)?;
        if patch.record_len != record.len() {
            return Err(StorageError::InvalidRecord { table });
        }
        let mut patched = Zeroizing::new(record.to_vec());
        for run in &patch.runs {
            patched
                .get_mut(run.offset..run.offset + run.bytes.len())
                .ok_or(StorageError::InvalidRecord { table })?
                .copy_from_slice(run.bytes);
        }
        let base = SealBase {
            sealed: split.cold.to_vec(),
            binding: binding(&cold),
            record,
        };
        Ok((patched, Some(base)))
    }
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
