//! The padded plaintext inside a message's AEAD (PROTOCOL.md §7.6).
//!
//! ```text
//! offset  size  field
//!      0     n  plaintext         the caller's bytes, 0 ..= MAX_PLAINTEXT_LEN
//!      n     1  end marker        = 0x80
//!  n + 1     z  zeros             0x00 × z, z ≥ 0, up to the padded length P
//! ```
//!
//! The padded length `P = n + 1 + z` is the sender's choice (its padding
//! policy, [`Padding`](crate::Padding)); a receiver needs no policy to undo
//! it: the plaintext ends at the last non-zero byte, which must be the
//! marker. Every padded body therefore decodes to exactly one plaintext,
//! and the layout is the ISO/IEC 7816-4 padding Signal's clients use.

use crate::limits::{MAX_PADDED_LEN, MAX_PLAINTEXT_LEN};

/// The byte that ends the plaintext.
pub(crate) const PADDING_MARKER: u8 = 0x80;

/// Padmé (Nikitin et al., PETS 2019) of a length `l`: `l` rounded up so
/// that only its top ⌊log₂ E⌋ + 1 bits below the leading one may be set,
/// where `E = ⌊log₂ l⌋`. It adds at most 12 % and leaves `O(log log l)`
/// bits of the length visible. Lengths below 2 are their own Padmé.
pub(crate) const fn padme(l: usize) -> usize {
    if l < 2 {
        return l;
    }
    let e = l.ilog2();
    let s = e.ilog2() + 1;
    let mask = (1usize << (e - s)) - 1;
    (l + mask) & !mask
}

/// `l` rounded up to a multiple of `block` (`block` ≥ 1).
pub(crate) const fn round_up(l: usize, block: usize) -> usize {
    if block <= 1 {
        return l;
    }
    l.div_ceil(block) * block
}

// The largest padding a configuration may choose keeps the largest
// plaintext within MAX_PADDED_LEN (see `Padding::padded_len`): any block up
// to the limit rounds 262 145 to at most 266 240, whose Padmé is this.
const _: () = assert!(padme(MAX_PLAINTEXT_LEN + 1) == MAX_PADDED_LEN);
const _: () = assert!(
    padme(round_up(
        MAX_PLAINTEXT_LEN + 1,
        crate::limits::MAX_PADDING_BLOCK_LIMIT as usize
    )) == MAX_PADDED_LEN
);

/// Appends `plaintext`, the end marker and zeros to `out`, `padded_len`
/// bytes in all (or `plaintext.len() + 1` if `padded_len` is less).
pub(crate) fn pad_into(out: &mut Vec<u8>, plaintext: &[u8], padded_len: usize) {
    let zeros = padded_len.saturating_sub(plaintext.len() + 1);
    out.reserve(plaintext.len() + 1 + zeros);
    out.extend_from_slice(plaintext);
    out.push(PADDING_MARKER);
    out.resize(out.len() + zeros, 0);
}

/// The length of the plaintext in a padded body, or `None` if the body is
/// not one: no non-zero byte, a last non-zero byte other than the marker,
/// or a plaintext longer than [`MAX_PLAINTEXT_LEN`].
///
/// The scan runs from the end and stops at the marker, so its time grows
/// with the padding's length; it only ever reads a body that has already
/// authenticated, and the caller handles the plaintext in time that grows
/// with its length anyway.
pub(crate) fn unpadded_len(padded: &[u8]) -> Option<usize> {
    let last = padded.iter().rposition(|&b| b != 0)?;
    let marker = padded.get(last).copied();
    (marker == Some(PADDING_MARKER) && last <= MAX_PLAINTEXT_LEN).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_matches_the_paper() {
        // Worked values: E, S and the rounding for each.
        let cases = [
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 3),
            (8, 8),
            (9, 10),
            (100, 104),
            (161, 176),
            (1025, 1088),
            (65_537, 67_584),
            (262_145, 270_336),
        ];
        for (l, want) in cases {
            assert_eq!(padme(l), want, "padme({l})");
        }
        // Never shrinks, never adds more than 12 %.
        for l in 2..20_000usize {
            let p = padme(l);
            assert!(p >= l && (p - l) * 100 <= l * 12, "padme({l}) = {p}");
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        for (pt, len) in [(&b""[..], 1), (b"", 160), (b"hi", 3), (b"hi", 160)] {
            let mut out = Vec::new();
            pad_into(&mut out, pt, len);
            assert_eq!(out.len(), len.max(pt.len() + 1));
            assert_eq!(unpadded_len(&out), Some(pt.len()));
        }
        // A plaintext may itself end in zeros or in the marker.
        let mut out = Vec::new();
        pad_into(&mut out, &[0x80, 0, 0], 10);
        assert_eq!(unpadded_len(&out), Some(3));
        assert_eq!(unpadded_len(&[]), None);
        assert_eq!(unpadded_len(&[0; 16]), None);
        assert_eq!(unpadded_len(&[b'a', 0x81, 0, 0]), None);
        assert_eq!(unpadded_len(&[b'a', 0x01]), None);
        let mut long = vec![1u8; MAX_PLAINTEXT_LEN + 1];
        long.push(PADDING_MARKER);
        assert_eq!(unpadded_len(&long), None);
        long.remove(0);
        assert_eq!(unpadded_len(&long), Some(MAX_PLAINTEXT_LEN));
    }
}
