//! How much a session pads what it sends (PROTOCOL.md §7.6).

use crate::error::MisuseError;
use crate::limits::{DEFAULT_PADDING_BLOCK, MAX_PADDING_BLOCK_LIMIT, MAX_PLAINTEXT_LEN};
use crate::wire::{padme, round_up};

/// A sender's padding policy: how long the padded plaintext inside a
/// message's AEAD is, so that a server sees a bucket, not the exact length.
///
/// The padded plaintext is the plaintext, an end-marker byte and zeros
/// (PROTOCOL.md §7.6). For a plaintext of `n` bytes the padded length is
/// `round_up(n + 1, block)`, and with Padmé `Padmé(round_up(n + 1,
/// block))`. The policy is the sender's alone: a receiver undoes any
/// padding without knowing it, so two apps with different policies still
/// talk.
///
/// The default, [`Padding::DEFAULT`], is 160-byte blocks with Padmé: every
/// plaintext under 160 bytes (most chat messages) has one length on the
/// wire; longer ones show only Padmé's bucket of their 160-byte block
/// count, which holds `O(log log n)` bits of the length and costs at most
/// 159 bytes plus 12 %. Measured costs are in `docs/PERFORMANCE.md`.
///
/// ```
/// use kinseal::Padding;
/// assert_eq!(Padding::DEFAULT.padded_len(5), 160);
/// assert_eq!(Padding::DEFAULT.padded_len(159), 160);
/// assert_eq!(Padding::DEFAULT.padded_len(160), 320);
/// assert_eq!(Padding::NONE.padded_len(5), 6);
/// assert_eq!(Padding::blocks(64)?.padded_len(100), 128);
/// # Ok::<(), kinseal::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Padding {
    block: u16,
    padme: bool,
}

impl Default for Padding {
    fn default() -> Self {
        Padding::DEFAULT
    }
}

impl Padding {
    /// [`DEFAULT_PADDING_BLOCK`]-byte blocks with Padmé.
    pub const DEFAULT: Padding = Padding {
        block: DEFAULT_PADDING_BLOCK,
        padme: true,
    };

    /// Nothing beyond the one-byte end marker: the length shows exactly.
    /// For an app that pads its plaintexts itself.
    pub const NONE: Padding = Padding {
        block: 1,
        padme: false,
    };

    /// Padded lengths are multiples of `block` bytes, `1 ..=`
    /// [`MAX_PADDING_BLOCK_LIMIT`]; no Padmé.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`].
    pub fn blocks(block: u16) -> crate::Result<Padding> {
        Padding::new(block, false)
    }

    /// Multiples of `block` bytes (`1 ..=` [`MAX_PADDING_BLOCK_LIMIT`]),
    /// then rounded up to Padmé's bucket.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`].
    pub fn blocks_and_padme(block: u16) -> crate::Result<Padding> {
        Padding::new(block, true)
    }

    /// The policy with these parts, checked; a session record stores them.
    pub(crate) fn new(block: u16, padme: bool) -> crate::Result<Padding> {
        if block == 0 || block > MAX_PADDING_BLOCK_LIMIT {
            return Err(MisuseError::ConfigOutOfRange {
                parameter: "padding_block",
                min: 1,
                max: u64::from(MAX_PADDING_BLOCK_LIMIT),
                found: u64::from(block),
            }
            .into());
        }
        Ok(Padding { block, padme })
    }

    /// The block size.
    pub fn block(&self) -> u16 {
        self.block
    }

    /// Whether the block multiple is rounded up to Padmé's bucket.
    pub fn padme(&self) -> bool {
        self.padme
    }

    /// The padded length of a plaintext of `plaintext_len` bytes: the
    /// bytes the AEAD seals (the ciphertext field is 16 more). For a
    /// length within [`MAX_PLAINTEXT_LEN`] it is more than `plaintext_len`
    /// and at most [`MAX_PADDED_LEN`](crate::MAX_PADDED_LEN); a longer
    /// length, which no session sends, is counted as [`MAX_PLAINTEXT_LEN`].
    pub fn padded_len(&self, plaintext_len: usize) -> usize {
        let n = plaintext_len.min(MAX_PLAINTEXT_LEN) + 1;
        let blocks = round_up(n, usize::from(self.block));
        if self.padme { padme(blocks) } else { blocks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_PADDED_LEN;

    #[test]
    fn bounds_and_buckets() {
        assert!(Padding::blocks(0).is_err());
        assert!(Padding::blocks(MAX_PADDING_BLOCK_LIMIT + 1).is_err());
        for p in [
            Padding::DEFAULT,
            Padding::NONE,
            Padding::blocks(MAX_PADDING_BLOCK_LIMIT).unwrap(),
            Padding::blocks_and_padme(MAX_PADDING_BLOCK_LIMIT).unwrap(),
        ] {
            assert!(p.padded_len(MAX_PLAINTEXT_LEN) <= MAX_PADDED_LEN, "{p:?}");
            let mut previous = 0;
            for n in (0..10_000).chain(MAX_PLAINTEXT_LEN - 10..=MAX_PLAINTEXT_LEN) {
                let padded = p.padded_len(n);
                assert!(padded > n && padded >= previous, "{p:?} at {n}");
                if p.padme() {
                    assert_eq!(padme(padded), padded, "{p:?} at {n}");
                } else {
                    assert_eq!(padded % usize::from(p.block()), 0, "{p:?} at {n}");
                }
                previous = padded;
            }
        }
        assert_eq!(
            Padding::DEFAULT.padded_len(MAX_PLAINTEXT_LEN),
            MAX_PADDED_LEN
        );
        // Padmé of the 160-byte block count: 1025 → 1120 → 1152.
        assert_eq!(Padding::DEFAULT.padded_len(1024), 1152);
        assert_eq!(Padding::DEFAULT.padded_len(8191), 8704);
        assert_eq!(Padding::DEFAULT.padded_len(65_536), 67_584);
        assert_eq!(Padding::blocks(160).unwrap().padded_len(1024), 1120);
        assert_eq!(Padding::blocks_and_padme(1).unwrap().padded_len(100), 104);
    }
}
