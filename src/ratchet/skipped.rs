//! The skipped-message-key store.
//!
//! Keys are stored in the order they are skipped, which is also ascending
//! order of (chain sequence number, index): a new chain always has a higher
//! sequence number than every chain before it, and within a chain indices
//! are skipped in ascending order. So one double-ended queue serves as both
//! the eviction order (oldest at the front) and a sorted index (binary
//! search). Insertion and eviction are O(1); lookup is O(log n); a removed
//! key leaves a tombstone that is dropped when it reaches either end or when
//! tombstones outnumber live keys, so every operation is amortised O(1)
//! apart from the logarithmic search.

use std::collections::VecDeque;

use zeroize::ZeroizeOnDrop;

use super::keys::MessageKeySeed;

struct Entry {
    seq: u32,
    index: u32,
    seed: Option<MessageKeySeed>,
}

/// The store. `live` counts entries that still hold a key.
#[derive(Default)]
pub(crate) struct SkippedKeys {
    entries: VecDeque<Entry>,
    live: usize,
}

impl SkippedKeys {
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    fn position(&self, seq: u32, index: u32) -> Option<usize> {
        self.entries
            .binary_search_by(|e| (e.seq, e.index).cmp(&(seq, index)))
            .ok()
    }

    /// The stored seed for `index` of chain `seq`, if any.
    pub(crate) fn get(&self, seq: u32, index: u32) -> Option<&MessageKeySeed> {
        let pos = self.position(seq, index)?;
        self.entries.get(pos)?.seed.as_ref()
    }

    /// Removes the seed for `index` of chain `seq` (after it was used).
    pub(crate) fn remove(&mut self, seq: u32, index: u32) {
        let Some(pos) = self.position(seq, index) else {
            return;
        };
        if let Some(e) = self.entries.get_mut(pos)
            && e.seed.take().is_some()
        {
            self.live -= 1;
        }
        self.trim_ends();
        if self.entries.len() > 2 * self.live + 32 {
            self.entries.retain(|e| e.seed.is_some());
        }
    }

    /// Appends seeds of chain `seq` (ascending indices, all above anything
    /// stored for that chain), then evicts the oldest until at most `max`
    /// remain. Returns, per chain that lost keys, the highest evicted index.
    pub(crate) fn extend(
        &mut self,
        seq: u32,
        seeds: Vec<(u32, MessageKeySeed)>,
        max: usize,
    ) -> Vec<(u32, u32)> {
        // The common case, a message in order: nothing to add or evict.
        if seeds.is_empty() && self.live <= max {
            return Vec::new();
        }
        // One allocation for a long jump, not a doubling per power of two
        // (each of which copies every entry so far).
        self.entries.reserve(seeds.len());
        for (index, seed) in seeds {
            self.entries.push_back(Entry {
                seq,
                index,
                seed: Some(seed),
            });
            self.live += 1;
        }
        let mut evicted: Vec<(u32, u32)> = Vec::new();
        while self.live > max {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            if e.seed.is_some() {
                self.live -= 1;
                match evicted.last_mut() {
                    Some((s, i)) if *s == e.seq => *i = e.index,
                    _ => evicted.push((e.seq, e.index)),
                }
            }
        }
        self.trim_ends();
        evicted
    }

    /// Drops every key of chains with a sequence number below `min_seq`.
    pub(crate) fn purge_below(&mut self, min_seq: u32) {
        while let Some(e) = self.entries.front() {
            if e.seq >= min_seq {
                break;
            }
            if let Some(e) = self.entries.pop_front()
                && e.seed.is_some()
            {
                self.live -= 1;
            }
        }
    }

    fn trim_ends(&mut self) {
        while self.entries.front().is_some_and(|e| e.seed.is_none()) {
            self.entries.pop_front();
        }
        while self.entries.back().is_some_and(|e| e.seed.is_none()) {
            self.entries.pop_back();
        }
    }

    /// Live entries, oldest first, as (seq, index, seed).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32, &MessageKeySeed)> {
        self.entries
            .iter()
            .filter_map(|e| e.seed.as_ref().map(|s| (e.seq, e.index, s)))
    }

    /// Rebuilds a store from entries in stored order. Returns `None` unless
    /// they are strictly ascending by (seq, index).
    pub(crate) fn from_sorted(items: Vec<(u32, u32, MessageKeySeed)>) -> Option<Self> {
        let mut store = SkippedKeys::default();
        for (seq, index, seed) in items {
            if let Some(last) = store.entries.back()
                && (last.seq, last.index) >= (seq, index)
            {
                return None;
            }
            store.entries.push_back(Entry {
                seq,
                index,
                seed: Some(seed),
            });
            store.live += 1;
        }
        Some(store)
    }
}

impl ZeroizeOnDrop for Entry {}
impl ZeroizeOnDrop for SkippedKeys {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(entry: &Entry, store: &SkippedKeys) {
    use crate::hygiene::{zod, zod_all};
    // Chain sequence numbers and indices are public (message headers).
    let Entry {
        seq: _,
        index: _,
        seed,
    } = entry;
    zod(seed);
    let SkippedKeys { entries, live: _ } = store;
    zod_all(entries);
}

impl core::fmt::Debug for SkippedKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SkippedKeys")
            .field("stored", &self.live)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn seed(i: u32) -> MessageKeySeed {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_be_bytes());
        MessageKeySeed::new(Zeroizing::new(b))
    }

    fn seeds(range: core::ops::Range<u32>) -> Vec<(u32, MessageKeySeed)> {
        range.map(|i| (i, seed(i))).collect()
    }

    #[test]
    fn evicts_oldest_first_and_reports_watermarks() {
        let mut s = SkippedKeys::default();
        assert!(s.extend(0, seeds(0..5), 8).is_empty());
        let evicted = s.extend(1, seeds(10..16), 8);
        assert_eq!(evicted, vec![(0, 2)]);
        assert_eq!(s.len(), 8);
        assert!(s.get(0, 2).is_none());
        assert!(s.get(0, 3).is_some());
        assert!(s.get(1, 15).is_some());
    }

    #[test]
    fn removal_leaves_lookups_correct_and_memory_bounded() {
        let mut s = SkippedKeys::default();
        s.extend(0, seeds(0..1000), 1000);
        for i in (1..999).step_by(2) {
            s.remove(0, i);
        }
        for i in 0..1000 {
            assert_eq!(s.get(0, i).is_some(), i % 2 == 0 || i == 999, "index {i}");
        }
        for i in (0..999).step_by(2) {
            s.remove(0, i);
        }
        assert_eq!(s.len(), 1);
        assert!(s.entries.len() <= 2 * s.live + 32);
        assert!(s.get(0, 999).is_some());
    }

    #[test]
    fn purge_drops_old_chains_only() {
        let mut s = SkippedKeys::default();
        s.extend(0, seeds(0..3), 100);
        s.extend(1, seeds(0..3), 100);
        s.extend(2, seeds(0..3), 100);
        s.purge_below(2);
        assert_eq!(s.len(), 3);
        assert!(s.get(1, 0).is_none());
        assert!(s.get(2, 0).is_some());
    }

    #[test]
    fn from_sorted_rejects_disorder() {
        assert!(SkippedKeys::from_sorted(vec![(0, 1, seed(1)), (0, 1, seed(1))]).is_none());
        assert!(SkippedKeys::from_sorted(vec![(1, 0, seed(1)), (0, 5, seed(1))]).is_none());
        assert!(SkippedKeys::from_sorted(vec![(0, 5, seed(1)), (1, 0, seed(1))]).is_some());
    }
}
