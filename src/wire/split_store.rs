//! A record stored as two seals (STORAGE.md §2.5): the record as of its
//! last full write (*cold*), and a small patch of what changed since
//! (*hot*). A session set changes by a few dozen bytes per message (a
//! chain key, an index, a time), so a write that changes only those seals
//! the patch alone, and keeps the cold seal's bytes as they were.

use super::store::SEAL_HEADER_LEN;
use super::{
    Frame, MAX_SEALED_PLAINTEXT_LEN, Reader, SealedFrame, TYPE_RECORD_PATCH, TYPE_SPLIT_SEALED,
    Writer,
};
use crate::error::{DecodeError, WireType};
use crate::sizes::TAG_LEN;

/// The most runs a record patch holds. A same-chain message changes three
/// (a chain key with its index, and a last-used time); a write that would
/// need more seals the whole record again.
pub(crate) const MAX_PATCH_RUNS: usize = 8;
/// The most bytes a record patch replaces, over all its runs: two chain
/// keys with their indexes and the times around them, with room to spare.
/// A write that changes more seals the whole record again.
pub(crate) const MAX_PATCH_BYTES: usize = 192;

/// The shortest sealed record: a header and a tag.
const MIN_SEALED_LEN: usize = SEAL_HEADER_LEN + TAG_LEN;

/// A record kept as a cold seal and a hot one.
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x3e (SplitSealedRecord)
/// cold_length       4  u32, 46 ..= MAX_SEALED_PLAINTEXT_LEN + 46
/// cold    cold_length  a SealedRecord (0x30): the record as of its last
///                       full write, under the cold part's label
/// hot            rest  a SealedRecord (0x30): a RecordPatch (0x3f) of
///                       the cold record, under the hot part's label and
///                       bound to the cold part's nonce and tag
/// ```
pub(crate) struct SplitSealedFrame<'a> {
    /// The cold part's bytes, a sealed record.
    pub(crate) cold: &'a [u8],
    /// The hot part's bytes, a sealed record.
    pub(crate) hot: &'a [u8],
}

impl<'a> SplitSealedFrame<'a> {
    /// The two parts, each decoded as a sealed record.
    pub(crate) fn parts(&self) -> Result<(SealedFrame<'a>, SealedFrame<'a>), DecodeError> {
        Ok((
            SealedFrame::decode(self.cold)?,
            SealedFrame::decode(self.hot)?,
        ))
    }
}

impl<'a> Frame<'a> for SplitSealedFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + 4 + self.cold.len() + self.hot.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_SPLIT_SEALED)
            .length(self.cold.len())
            .bytes(self.cold)
            .bytes(self.hot);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SplitSealedRecord);
        r.header(TYPE_SPLIT_SEALED)?;
        let cold_len = r.length(MIN_SEALED_LEN, MAX_SEALED_PLAINTEXT_LEN + MIN_SEALED_LEN)?;
        let cold = r.take(cold_len)?;
        let hot = r.remaining();
        let frame = SplitSealedFrame { cold, hot };
        // Both parts must at least be sealed records.
        frame.parts()?;
        Ok(frame)
    }
}

/// One run of a patch: `bytes` replace the record's bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PatchRun<'a> {
    pub(crate) offset: usize,
    pub(crate) bytes: &'a [u8],
}

/// What changed in a record since its cold part was sealed: runs of bytes
/// that replace the cold record's own, in order and apart.
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x3f (RecordPatch)
/// record_length     4  u32, the length of the record it applies to (the
///                       patched record has the same length)
/// count             1  u8, 0 ..= MAX_PATCH_RUNS
/// count × run:
///   offset          4  u32, past the end of the previous run (runs are
///                       sorted, and at least one byte apart)
///   length          2  u16, 1 ..= MAX_PATCH_BYTES; offset + length ≤
///                       record_length
///   bytes      length  the record's bytes there
/// ```
///
/// The runs replace at most `MAX_PATCH_BYTES` bytes in all.
pub(crate) struct RecordPatchFrame<'a> {
    pub(crate) record_len: usize,
    pub(crate) runs: Vec<PatchRun<'a>>,
}

impl<'a> Frame<'a> for RecordPatchFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + 4
            + 1
            + self
                .runs
                .iter()
                .map(|r| 4 + 2 + r.bytes.len())
                .sum::<usize>()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_RECORD_PATCH).length(self.record_len);
        // At most MAX_PATCH_RUNS (8) runs of at most MAX_PATCH_BYTES (192)
        // bytes each, at offsets below MAX_SEALED_PLAINTEXT_LEN: the
        // writer (`client::keyring::split::diff`) keeps them so.
        w.u8(u8::try_from(self.runs.len()).unwrap_or(u8::MAX));
        for run in &self.runs {
            w.length(run.offset)
                .u16(u16::try_from(run.bytes.len()).unwrap_or(u16::MAX))
                .bytes(run.bytes);
        }
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let wire_type = WireType::RecordPatch;
        let mut r = Reader::new(bytes, wire_type);
        r.header(TYPE_RECORD_PATCH)?;
        let record_len = r.length(0, MAX_SEALED_PLAINTEXT_LEN)?;
        let count = usize::from(r.u8()?);
        let count = r.check_len(count, 0, MAX_PATCH_RUNS)?;
        let mut runs = Vec::with_capacity(count);
        let mut next = 0usize;
        let mut total = 0usize;
        for _ in 0..count {
            let offset = r.u32()? as usize;
            if offset < next {
                return Err(DecodeError::InvalidField {
                    wire_type,
                    field: "offset",
                    found: offset as u32,
                });
            }
            let len = usize::from(r.u16()?);
            let len = r.check_len(len, 1, MAX_PATCH_BYTES)?;
            total += len;
            r.check_len(total, 1, MAX_PATCH_BYTES)?;
            let end = offset
                .checked_add(len)
                .filter(|&end| end <= record_len)
                .ok_or(DecodeError::InvalidField {
                    wire_type,
                    field: "offset",
                    found: offset as u32,
                })?;
            runs.push(PatchRun {
                offset,
                bytes: r.take(len)?,
            });
            // The next run starts at least one byte past this one.
            next = end + 1;
        }
        r.finish()?;
        Ok(RecordPatchFrame { record_len, runs })
    }
}

#[cfg(test)]
#[path = "split_store_tests.rs"]
mod tests;
