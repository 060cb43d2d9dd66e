//! The account's in-memory caches: how one is locked, and the
//! least-recently-used map the bounded ones are made of. A cache is only
//! an optimization: it holds public or re-checkable values, and what it
//! holds is used only where it stands for exactly the bytes it came from.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// Locks one of the account's in-memory caches. After a panic while it
/// was held, the cache starts afresh rather than be trusted.
pub(super) fn lock_cache<T: Default>(cache: &Mutex<T>) -> MutexGuard<'_, T> {
    cache.lock().unwrap_or_else(|poisoned| {
        let mut guard = poisoned.into_inner();
        *guard = T::default();
        cache.clear_poison();
        guard
    })
}

/// A map of at most `N` entries: putting a new key into a full map first
/// evicts the least recently used entry (got or put). Eviction scans the
/// map, which is cheap next to what these caches save (a decode and a
/// key check per entry) and happens only on a miss.
pub(super) struct LruMap<K, V, const N: usize> {
    entries: HashMap<K, (V, u64)>,
    clock: u64,
}

impl<K, V, const N: usize> Default for LruMap<K, V, N> {
    fn default() -> Self {
        LruMap {
            entries: HashMap::new(),
            clock: 0,
        }
    }
}

impl<K: Eq + Hash + Clone, V, const N: usize> LruMap<K, V, N> {
    /// The value of `key`, now the most recently used.
    pub(super) fn get(&mut self, key: &K) -> Option<&V> {
        self.clock += 1;
        let (value, used) = self.entries.get_mut(key)?;
        *used = self.clock;
        Some(value)
    }

    /// Sets the value of `key`, evicting the least recently used entry if
    /// the map is full and `key` is new.
    pub(super) fn put(&mut self, key: K, value: V) {
        self.clock += 1;
        if !self.entries.contains_key(&key) && self.entries.len() >= N {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (value, self.clock));
    }

    /// How many entries it holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
