//! Safety numbers: a fingerprint of two identity keys that two people
//! compare out of band (`docs/PROTOCOL.md` §11): of two users' identity
//! keys (version 2, the number people compare), or of two devices'
//! (version 1).

use core::cmp::Ordering;
use core::fmt;

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::crypto::labels;
use crate::error::{DecodeError, ProtocolError, WireType};
use crate::wire::{
    FINGERPRINT_LEN, Fingerprint, Frame, KEY_LEN, SAFETY_NUMBER_DEVICE_VERSION,
    SAFETY_NUMBER_USER_VERSION, SafetyNumberFrame,
};
use crate::{IdentityKey, UserIdentityKey};

/// How many SHA-512 computations make one key's fingerprint: `h_0` over the
/// label, the version and the key, then `h_i = SHA-512(h_(i-1) ‖ key)` up to
/// `h_5199`. As in Signal's numeric fingerprints, the count makes grinding
/// for a key whose number collides with a target's that much costlier.
const SAFETY_NUMBER_ITERATIONS: u32 = 5200;

/// Digits in a safety number: 30 for each key.
const DIGITS: usize = 60;
/// Five-digit groups in a safety number.
const GROUPS: usize = 12;
/// Five-digit chunks per key.
const CHUNKS_PER_KEY: usize = 6;
/// Bytes of the fingerprint behind each chunk (a 40-bit integer).
const CHUNK_BYTES: usize = 5;
/// Each chunk is its 40-bit integer modulo this: five decimal digits.
const CHUNK_MODULUS: u64 = 100_000;

/// A safety number: the fingerprint of two identity keys that two people
/// compare out of band, read aloud as 60 digits or scanned as a QR code.
///
/// There are two kinds, told apart by their version (PROTOCOL.md §11):
///
/// - [`SafetyNumber::for_users`], version 2
///   ([`USER_VERSION`](Self::USER_VERSION)): of two people's
///   [`UserIdentityKey`]s. One number per pair of people, whatever devices
///   they use and however many: the number apps show between people.
/// - [`SafetyNumber::new`], version 1
///   ([`DEVICE_VERSION`](Self::DEVICE_VERSION)): of two devices'
///   [`IdentityKey`]s, for device-level checks.
///
/// A number depends on the two keys and the version only. It names no
/// user or address, so every app of the family shows the same number for
/// the same two keys, and it is symmetric: each side computes it with its
/// own key first and gets the same result. The version is hashed in, so
/// the same 32 key bytes give unrelated digits as a user key and as a
/// device key, and a scanned number of the other version is refused
/// ([`ProtocolError::SafetyNumberVersionMismatch`]), never reported as a
/// mismatch of keys.
///
/// Nothing in it is secret.
///
/// ```
/// use kinseal::{OsRng, UserIdentityKeyPair};
/// use kinseal::client::SafetyNumber;
///
/// # fn main() -> Result<(), kinseal::Error> {
/// let alice = UserIdentityKeyPair::generate(&mut OsRng);
/// let bob = UserIdentityKeyPair::generate(&mut OsRng);
///
/// // Each computes it from their own key and the other's.
/// let on_alices_phone = SafetyNumber::for_users(alice.public_key(), bob.public_key());
/// let on_bobs_laptop = SafetyNumber::for_users(bob.public_key(), alice.public_key());
/// assert_eq!(on_alices_phone.digits(), on_bobs_laptop.digits());
/// assert_eq!(on_alices_phone.digits().len(), 60);
/// assert_eq!(on_alices_phone.groups().len(), 12);
/// assert_eq!(on_alices_phone.version(), SafetyNumber::USER_VERSION);
///
/// // Bob scans the QR code on Alice's screen.
/// let qr = on_alices_phone.to_qr_bytes();
/// assert!(on_bobs_laptop.matches_scanned(&qr)?);
///
/// // Against another key, it does not match.
/// let mallory = UserIdentityKeyPair::generate(&mut OsRng);
/// let wrong = SafetyNumber::for_users(bob.public_key(), mallory.public_key());
/// assert!(!wrong.matches_scanned(&qr)?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SafetyNumber {
    /// [`SafetyNumber::DEVICE_VERSION`] or [`SafetyNumber::USER_VERSION`].
    version: u8,
    /// The two fingerprints, in safety-number order (§11.2).
    low: Fingerprint,
    high: Fingerprint,
}

impl SafetyNumber {
    /// The safety-number version of two devices' identity keys
    /// ([`SafetyNumber::new`]): 1, the first byte of their QR payload.
    pub const DEVICE_VERSION: u8 = SAFETY_NUMBER_DEVICE_VERSION;

    /// The safety-number version of two users' identity keys
    /// ([`SafetyNumber::for_users`]): 2, the first byte of their QR payload.
    pub const USER_VERSION: u8 = SAFETY_NUMBER_USER_VERSION;

    /// The safety number of two devices' identity keys, in either order
    /// (version 1): for checking one device of each person. Between people,
    /// show [`SafetyNumber::for_users`].
    ///
    /// Takes 2 × 5200 SHA-512 computations (a few milliseconds): compute it
    /// when the user asks to see it, not on every message.
    pub fn new(a: &IdentityKey, b: &IdentityKey) -> SafetyNumber {
        Self::of(Self::DEVICE_VERSION, a.as_bytes(), b.as_bytes())
    }

    /// The safety number of two users' identity keys, in either order
    /// (version 2): one number per pair of people, the same on every device
    /// of either and in every app of the family. It is §11's construction
    /// with the user keys as inputs and `SV = 2`, so it never equals the
    /// version 1 number of device keys with the same bytes.
    ///
    /// Takes 2 × 5200 SHA-512 computations, as [`SafetyNumber::new`].
    pub fn for_users(a: &UserIdentityKey, b: &UserIdentityKey) -> SafetyNumber {
        Self::of(Self::USER_VERSION, a.as_bytes(), b.as_bytes())
    }

    fn of(version: u8, a: &[u8; KEY_LEN], b: &[u8; KEY_LEN]) -> SafetyNumber {
        let fa = fingerprint(&key_hash(version, a));
        let fb = fingerprint(&key_hash(version, b));
        let (low, high) = if order(&fa, &fb).is_le() {
            (fa, fb)
        } else {
            (fb, fa)
        };
        SafetyNumber { version, low, high }
    }

    /// Reads a QR payload (from [`to_qr_bytes`](Self::to_qr_bytes), on
    /// another device) of either version, for example to show its digits.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`](crate::Error::Decode) with
    /// `UnsupportedVersion` for a version other than 1 and 2,
    /// `UnexpectedType` if the second byte is not the safety-number type,
    /// `Truncated` or `TrailingBytes` if it is not 66 bytes long, and
    /// `InvalidField` if the two fingerprints are not in order.
    pub fn from_qr_bytes(bytes: &[u8]) -> crate::Result<SafetyNumber> {
        let frame = SafetyNumberFrame::decode(bytes)?;
        if !in_order(&frame.low, &frame.high) {
            return Err(DecodeError::InvalidField {
                wire_type: WireType::SafetyNumber,
                field: "fingerprint order",
                found: 1,
            }
            .into());
        }
        Ok(SafetyNumber {
            version: frame.version,
            low: frame.low,
            high: frame.high,
        })
    }

    /// The safety-number version: [`SafetyNumber::USER_VERSION`] for a
    /// number of user keys, [`SafetyNumber::DEVICE_VERSION`] for one of
    /// device keys.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The 60 digits: the 30 of one key, then the 30 of the other.
    pub fn digits(&self) -> String {
        self.groups().concat()
    }

    /// The 60 digits as 12 groups of 5, in order. Show all of them, for
    /// example as three rows of four groups; users compare every group.
    pub fn groups(&self) -> [String; GROUPS] {
        let mut values = chunks(&self.low).into_iter().chain(chunks(&self.high));
        core::array::from_fn(|_| format!("{:05}", values.next().unwrap_or(0)))
    }

    /// The bytes to show as a QR code (66 bytes): the version, a type byte,
    /// and the first 32 bytes of each key's fingerprint hash. Scanning
    /// compares 256 bits per key, where reading the digits compares about
    /// 100.
    pub fn to_qr_bytes(&self) -> Vec<u8> {
        SafetyNumberFrame {
            version: self.version,
            low: self.low,
            high: self.high,
        }
        .to_vec()
    }

    /// Whether a scanned QR payload is this safety number: `Ok(true)` if
    /// it is, `Ok(false)` if it is a well-formed safety number of the same
    /// version for other keys (the keys differ: do not trust the session
    /// until this is resolved).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`](crate::Error::Decode) if `scanned` is not a
    /// safety-number payload, as in [`from_qr_bytes`](Self::from_qr_bytes)
    /// (the other side may run an app that computes a version this build
    /// does not know), and
    /// [`ProtocolError::SafetyNumberVersionMismatch`] if it is one of the
    /// other version (a number of device keys scanned against one of user
    /// keys, or the other way round). Neither is a mismatch of keys: tell
    /// the user to compare numbers of the same kind.
    pub fn matches_scanned(&self, scanned: &[u8]) -> crate::Result<bool> {
        let theirs = Self::from_qr_bytes(scanned)?;
        if theirs.version != self.version {
            return Err(ProtocolError::SafetyNumberVersionMismatch {
                ours: self.version,
                scanned: theirs.version,
            }
            .into());
        }
        // Public data; constant time all the same, it costs nothing here.
        let equal = self.low.ct_eq(&theirs.low) & self.high.ct_eq(&theirs.high);
        Ok(bool::from(equal))
    }
}

impl fmt::Display for SafetyNumber {
    /// The 12 groups separated by single spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.groups().join(" "))
    }
}

/// The final hash `h_5199` of one key's 32 bytes (§11.1).
fn key_hash(version: u8, key: &[u8; KEY_LEN]) -> [u8; 64] {
    let mut h: [u8; 64] = Sha512::new()
        .chain_update(labels::SAFETY_NUMBER)
        .chain_update(u16::from(version).to_be_bytes())
        .chain_update(key)
        .finalize()
        .into();
    for _ in 1..SAFETY_NUMBER_ITERATIONS {
        h = Sha512::new()
            .chain_update(h)
            .chain_update(key)
            .finalize()
            .into();
    }
    h
}

/// The first 32 bytes of a final hash.
fn fingerprint(hash: &[u8; 64]) -> Fingerprint {
    let mut fp = [0u8; FINGERPRINT_LEN];
    for (out, byte) in fp.iter_mut().zip(hash) {
        *out = *byte;
    }
    fp
}

const _: () = assert!(DIGITS == GROUPS * 5 && FINGERPRINT_LEN <= 64);

/// The six five-digit chunks of a fingerprint: bytes `5j .. 5j + 5` as a
/// big-endian 40-bit integer, modulo 100000. Only the first 30 bytes count;
/// the last two are carried by the QR payload alone.
fn chunks(fp: &Fingerprint) -> [u32; CHUNKS_PER_KEY] {
    let mut out = [0u32; CHUNKS_PER_KEY];
    // 32 bytes in chunks of 5 give exactly six chunks and a remainder of 2.
    for (slot, chunk) in out.iter_mut().zip(fp.chunks_exact(CHUNK_BYTES)) {
        let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        // Below 100000, so it fits.
        *slot = u32::try_from(value % CHUNK_MODULUS).unwrap_or(0);
    }
    out
}

/// The safety-number order of two fingerprints: by their digits (chunk by
/// chunk, which for zero-padded five-digit chunks is the order of the
/// digit strings), and by the fingerprint bytes only if the digits tie.
fn order(a: &Fingerprint, b: &Fingerprint) -> Ordering {
    chunks(a).cmp(&chunks(b)).then_with(|| a.cmp(b))
}

/// Whether `low` may come before `high` (equal fingerprints are in order).
fn in_order(low: &Fingerprint, high: &Fingerprint) -> bool {
    order(low, high) != Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{DecodeError, Error, WireType};
    use crate::{IdentityKeyPair, vectors::seeded};
    use proptest::prelude::*;

    fn keys(n: usize, label: &str) -> Vec<IdentityKey> {
        let mut rng = seeded(label);
        (0..n)
            .map(|_| IdentityKeyPair::generate(&mut rng).public_key().clone())
            .collect()
    }

    fn halves(sn: &SafetyNumber) -> (String, String) {
        let d = sn.digits();
        (d[..30].to_string(), d[30..].to_string())
    }

    /// One key's 30 digits, through a safety number of the key with itself.
    fn half_of(k: &IdentityKey) -> String {
        halves(&SafetyNumber::new(k, k)).0
    }

    #[test]
    fn symmetric() {
        let k = keys(2, "safety unit symmetric");
        let ab = SafetyNumber::new(&k[0], &k[1]);
        let ba = SafetyNumber::new(&k[1], &k[0]);
        assert_eq!(ab, ba);
        assert_eq!(ab.digits(), ba.digits());
        assert_eq!(ab.to_qr_bytes(), ba.to_qr_bytes());
    }

    #[test]
    fn format() {
        let k = keys(2, "safety unit format");
        let sn = SafetyNumber::new(&k[0], &k[1]);
        let digits = sn.digits();
        assert_eq!(digits.len(), DIGITS);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        let groups = sn.groups();
        assert!(groups.iter().all(|g| g.len() == 5));
        assert_eq!(groups.concat(), digits);
        let shown = sn.to_string();
        assert_eq!(shown.len(), DIGITS + GROUPS - 1);
        assert_eq!(shown.split(' ').collect::<Vec<_>>(), groups);
        assert_eq!(sn.version(), 1);
        let qr = sn.to_qr_bytes();
        assert_eq!(qr.len(), 66);
        assert_eq!(qr[..2], [1, 0x40]);
    }

    #[test]
    fn halves_are_the_keys_digits_sorted() {
        let k = keys(2, "safety unit halves");
        let (h0, h1) = (half_of(&k[0]), half_of(&k[1]));
        let (lo, hi) = halves(&SafetyNumber::new(&k[0], &k[1]));
        let mut want = [h0, h1];
        want.sort();
        assert_eq!([lo, hi], want);
    }

    #[test]
    fn different_keys_different_numbers() {
        let k = keys(4, "safety unit different");
        let ab = SafetyNumber::new(&k[0], &k[1]);
        let cd = SafetyNumber::new(&k[2], &k[3]);
        let ac = SafetyNumber::new(&k[0], &k[2]);
        assert_ne!(ab.digits(), cd.digits());
        assert_ne!(ab.digits(), ac.digits());
        assert!(!ab.matches_scanned(&cd.to_qr_bytes()).unwrap());
        assert!(!ab.matches_scanned(&ac.to_qr_bytes()).unwrap());
        assert!(ab.matches_scanned(&ab.to_qr_bytes()).unwrap());
    }

    #[test]
    fn changing_one_key_changes_exactly_its_half() {
        let k = keys(3, "safety unit one half");
        let (a, b, c) = (half_of(&k[0]), half_of(&k[1]), half_of(&k[2]));
        let ab = halves(&SafetyNumber::new(&k[0], &k[1]));
        let ac = halves(&SafetyNumber::new(&k[0], &k[2]));
        // a's half is in both; b's half is replaced by c's, nothing else.
        for (pair, other) in [(&ab, &b), (&ac, &c)] {
            assert!(pair.0 == a || pair.1 == a);
            let rest = if pair.0 == a { &pair.1 } else { &pair.0 };
            assert_eq!(rest, other);
        }
        assert_ne!(b, c);
    }

    #[test]
    fn equal_keys_give_the_half_twice() {
        let k = keys(1, "safety unit equal");
        let sn = SafetyNumber::new(&k[0], &k[0]);
        let (lo, hi) = halves(&sn);
        assert_eq!(lo, hi);
        assert!(sn.matches_scanned(&sn.to_qr_bytes()).unwrap());
    }

    #[test]
    fn qr_round_trip() {
        let k = keys(2, "safety unit qr");
        let sn = SafetyNumber::new(&k[0], &k[1]);
        let qr = sn.to_qr_bytes();
        let back = SafetyNumber::from_qr_bytes(&qr).unwrap();
        assert_eq!(back, sn);
        assert_eq!(back.digits(), sn.digits());
        assert_eq!(back.to_qr_bytes(), qr);
    }

    #[test]
    fn rejects_other_versions_lengths_and_orders() {
        let k = keys(2, "safety unit reject");
        let sn = SafetyNumber::new(&k[0], &k[1]);
        let qr = sn.to_qr_bytes();

        let mut v3 = qr.clone();
        v3[0] = 3;
        assert_eq!(
            sn.matches_scanned(&v3),
            Err(Error::Decode(DecodeError::UnsupportedVersion { found: 3 }))
        );
        let mut v0 = qr.clone();
        v0[0] = 0;
        v0.truncate(40);
        assert_eq!(
            sn.matches_scanned(&v0),
            Err(Error::Decode(DecodeError::UnsupportedVersion { found: 0 }))
        );
        assert!(matches!(
            sn.matches_scanned(&qr[..qr.len() - 1]),
            Err(Error::Decode(DecodeError::Truncated {
                wire_type: WireType::SafetyNumber,
                ..
            }))
        ));
        let mut long = qr.clone();
        long.push(0);
        assert_eq!(
            sn.matches_scanned(&long),
            Err(Error::Decode(DecodeError::TrailingBytes {
                wire_type: WireType::SafetyNumber,
                count: 1,
            }))
        );
        let mut other_type = qr.clone();
        other_type[1] = 0x41;
        assert_eq!(
            sn.matches_scanned(&other_type),
            Err(Error::Decode(DecodeError::UnexpectedType {
                expected: WireType::SafetyNumber,
                found: 0x41,
            }))
        );
        let mut swapped = vec![1, 0x40];
        swapped.extend_from_slice(&qr[34..]);
        swapped.extend_from_slice(&qr[2..34]);
        assert!(matches!(
            sn.matches_scanned(&swapped),
            Err(Error::Decode(DecodeError::InvalidField {
                wire_type: WireType::SafetyNumber,
                ..
            }))
        ));
    }

    #[test]
    fn hash_is_iterated_as_specified() {
        let k = keys(1, "safety unit hash");
        let key = k[0].as_bytes();
        let mut h = Sha512::digest([labels::SAFETY_NUMBER, &[0, 1], key].concat()).to_vec();
        for _ in 1..5200 {
            h = Sha512::digest([&h[..], key].concat()).to_vec();
        }
        assert_eq!(key_hash(1, k[0].as_bytes()).to_vec(), h);
        let sn = SafetyNumber::new(&k[0], &k[0]);
        assert_eq!(sn.to_qr_bytes()[2..34], h[..32]);
    }

    proptest! {
        // Each case hashes 4 × 5200 times; a few dozen cases are plenty.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn symmetric_and_well_formed(seed_a in any::<[u8; 32]>(), seed_b in any::<[u8; 32]>()) {
            let a = IdentityKeyPair::from_secret_bytes(&seed_a).unwrap();
            let b = IdentityKeyPair::from_secret_bytes(&seed_b).unwrap();
            let ab = SafetyNumber::new(a.public_key(), b.public_key());
            let ba = SafetyNumber::new(b.public_key(), a.public_key());
            prop_assert_eq!(&ab, &ba);
            let digits = ab.digits();
            prop_assert_eq!(digits.len(), 60);
            prop_assert!(digits.bytes().all(|c| c.is_ascii_digit()));
            prop_assert!(digits[..30] <= digits[30..]);
            prop_assert_eq!(ab.groups().concat(), digits);
            let qr = ab.to_qr_bytes();
            prop_assert_eq!(qr.len(), 66);
            prop_assert!(ba.matches_scanned(&qr).unwrap());
            prop_assert_eq!(SafetyNumber::from_qr_bytes(&qr).unwrap(), ab);
        }
    }

    fn fp(first: u8) -> Fingerprint {
        let mut f = [0u8; FINGERPRINT_LEN];
        f[0] = first;
        f
    }

    #[test]
    fn chunks_are_big_endian_40_bit_mod_100000() {
        let mut f = [0u8; FINGERPRINT_LEN];
        // 0xffffffffff = 1099511627775; mod 100000 = 27775
        f[..5].copy_from_slice(&[0xff; 5]);
        // 0x0000000001 = 1
        f[9] = 1;
        // 0x00000186a0 = 100000 -> 0
        f[12..15].copy_from_slice(&[0x01, 0x86, 0xa0]);
        // the last two bytes do not count
        f[30] = 0xff;
        f[31] = 0xff;
        assert_eq!(chunks(&f), [27775, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn ties_in_digits_are_broken_by_bytes() {
        // Same first 30 bytes, so the same digits; the last two bytes decide.
        let mut a = fp(7);
        let mut b = fp(7);
        a[31] = 1;
        b[31] = 2;
        assert_eq!(chunks(&a), chunks(&b));
        assert_eq!(order(&a, &b), Ordering::Less);
        assert!(in_order(&a, &b) && !in_order(&b, &a) && in_order(&a, &a));
    }

    #[test]
    fn qr_payload_out_of_order_is_refused() {
        let swapped = SafetyNumberFrame {
            version: 1,
            low: fp(0xff),
            high: fp(0),
        }
        .to_vec();
        assert!(matches!(
            SafetyNumber::from_qr_bytes(&swapped),
            Err(Error::Decode(DecodeError::InvalidField {
                field: "fingerprint order",
                ..
            }))
        ));
    }
}
