//! Signed and one-time X25519 prekeys.

use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::{Hex, IdentityKey, IdentityKeyPair, check_batch};
use crate::crypto::{dh, labels};
use crate::error::{DecodeError, KeyKind, SignedObject};
use crate::wire::{Frame, KEY_LEN, OneTimePreKeyPairFrame, SIGNATURE_LEN, SignedPreKeyPairFrame};

/// A public X25519 key that has been checked: canonically encoded (top bit
/// clear, below 2^255 - 19) and the u-coordinate of a point of the
/// prime-order subgroup (PROTOCOL.md §3.2), so each key has exactly one
/// encoding and no small-order component. Peer keys become one only through
/// [`x25519_public`], where received bytes turn into a value; our own keys
/// through [`X25519PublicKey::from_secret`], which is valid by
/// construction. Past that point the check never runs again — not even
/// when a session state of revision 2 is restored
/// ([`X25519PublicKey::from_stored`]): its keys were checked before they
/// were stored.
///
/// (`dh::agree` still refuses an all-zero output; no key of this type can
/// produce one.)
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct X25519PublicKey([u8; KEY_LEN]);

impl X25519PublicKey {
    /// The public key of `secret`.
    pub(crate) fn from_secret(secret: &StaticSecret) -> Self {
        X25519PublicKey(dh::public_of(secret))
    }

    /// A key as a session state of revision 2 stores it (PROTOCOL.md
    /// §4.4): checked with [`x25519_public`] (a peer's) or derived from
    /// its private key (ours) before it was stored, so only its encoding
    /// is checked again. The subgroup check protects the uniqueness of
    /// encodings, not the DH: X25519 clears the cofactor, and `dh::agree`
    /// refuses an all-zero output whatever the key.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] for a non-canonical encoding.
    pub(crate) fn from_stored(bytes: &[u8; KEY_LEN]) -> Result<Self, DecodeError> {
        canonical_x25519(bytes).map(|k| X25519PublicKey(k.0))
    }

    /// The 32-byte encoding.
    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl PartialEq<[u8; KEY_LEN]> for X25519PublicKey {
    fn eq(&self, other: &[u8; KEY_LEN]) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("X25519PublicKey")
            .field(&Hex(&self.0))
            .finish()
    }
}

/// A received X25519 key that is canonically encoded but whose subgroup
/// membership is not checked yet: a `Message`'s ratchet key. Most messages
/// name a ratchet key the session already holds, checked when its chain
/// began, so the check (about 0.7 of a DH) runs only when the key starts a
/// new chain, after the header tag authenticated it (PROTOCOL.md §7.4
/// step 4.3). Nothing can use one in a DH: [`CanonicalX25519::check`] makes
/// the [`X25519PublicKey`] a DH takes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CanonicalX25519([u8; KEY_LEN]);

impl CanonicalX25519 {
    /// The 32-byte encoding.
    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The subgroup check (PROTOCOL.md §3.2 item 2).
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] for a key outside the prime-order subgroup.
    pub(crate) fn check(&self) -> Result<X25519PublicKey, DecodeError> {
        x25519_public(&self.0)
    }
}

impl PartialEq<X25519PublicKey> for CanonicalX25519 {
    fn eq(&self, other: &X25519PublicKey) -> bool {
        self.0 == other.0
    }
}

impl From<X25519PublicKey> for CanonicalX25519 {
    fn from(key: X25519PublicKey) -> Self {
        CanonicalX25519(key.0)
    }
}

impl fmt::Debug for CanonicalX25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CanonicalX25519")
            .field(&Hex(&self.0))
            .finish()
    }
}

/// Checks only the encoding of a received X25519 key (PROTOCOL.md §3.2
/// item 1): what decoding a `Message` does with its ratchet key.
pub(crate) fn canonical_x25519(bytes: &[u8; KEY_LEN]) -> Result<CanonicalX25519, DecodeError> {
    if dh::is_canonical_public(bytes) {
        Ok(CanonicalX25519(*bytes))
    } else {
        Err(DecodeError::InvalidKey {
            kind: KeyKind::X25519,
        })
    }
}

/// Parses a public X25519 key, rejecting non-canonical encodings and every
/// u-coordinate that is not of a point of the prime-order subgroup (small
/// order, a small-order component added, or on the twist): the one way
/// received bytes become an [`X25519PublicKey`].
pub(crate) fn x25519_public(bytes: &[u8; KEY_LEN]) -> Result<X25519PublicKey, DecodeError> {
    if dh::is_canonical_public(bytes) && dh::in_prime_order_subgroup(bytes) {
        Ok(X25519PublicKey(*bytes))
    } else {
        Err(DecodeError::InvalidKey {
            kind: KeyKind::X25519,
        })
    }
}

/// The public half of a signed prekey, as it appears in a bundle.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPreKey {
    pub(super) id: u32,
    pub(super) created_at: u64,
    pub(super) public: [u8; KEY_LEN],
    pub(super) signature: [u8; SIGNATURE_LEN],
}

impl SignedPreKey {
    /// Assembles a signed prekey from its published parts. The signature is
    /// checked by [`SignedPreKey::verify`] or bundle verification, not here.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] if `public` is not a canonical X25519 key
    /// of the prime-order subgroup (PROTOCOL.md §3.2).
    pub fn from_parts(
        id: u32,
        created_at: u64,
        public: &[u8; KEY_LEN],
        signature: &[u8; SIGNATURE_LEN],
    ) -> crate::Result<Self> {
        Ok(SignedPreKey {
            id,
            created_at,
            public: *x25519_public(public)?.as_bytes(),
            signature: *signature,
        })
    }

    /// The prekey id, chosen by its owner.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The creation time its owner gave, in seconds since the Unix epoch.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The X25519 public key.
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The Ed25519 signature by the owner's identity key.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// Checks that `identity` signed this prekey.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature).
    pub fn verify(&self, identity: &IdentityKey) -> crate::Result<()> {
        let (id, created) = (self.id.to_be_bytes(), self.created_at.to_be_bytes());
        identity.verify(
            SignedObject::SignedPreKey,
            labels::SIG_SIGNED_PREKEY,
            &[&[crate::wire::SUITE_V1], &id, &created, &self.public],
            &self.signature,
        )?;
        Ok(())
    }
}

impl fmt::Debug for SignedPreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKey")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("public", &Hex(&self.public))
            .finish_non_exhaustive()
    }
}

/// A signed prekey with its private half.
pub struct SignedPreKeyPair {
    secret: StaticSecret,
    public: SignedPreKey,
}

impl SignedPreKeyPair {
    /// Generates a signed prekey with the given id and creation time
    /// (seconds since the Unix epoch; kinseal has no clock of its own).
    pub fn generate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
    ) -> Self {
        Self::from_secret(identity, id, created_at, StaticSecret::random_from_rng(rng))
    }

    fn from_secret(
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
        secret: StaticSecret,
    ) -> Self {
        let public = dh::public_of(&secret);
        let signature = identity.sign(
            labels::SIG_SIGNED_PREKEY,
            &[
                &[crate::wire::SUITE_V1],
                &id.to_be_bytes(),
                &created_at.to_be_bytes(),
                &public,
            ],
        );
        SignedPreKeyPair {
            secret,
            public: SignedPreKey {
                id,
                created_at,
                public,
                signature,
            },
        }
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// The public half, to publish.
    pub fn public(&self) -> &SignedPreKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    /// The private encoding of this pair, to store: the id, the creation
    /// time, the private key and the signature (111 bytes, type `0x34`;
    /// layout in `docs/STORAGE.md`). The public key is not in it;
    /// [`from_bytes`](Self::from_bytes) recomputes it.
    ///
    /// # Security
    /// The encoding holds the private key: store it encrypted (an
    /// [`Account`](crate::client::Account) seals it under its
    /// [`StorageKeyring`](crate::client::StorageKeyring)) and let the
    /// buffer drop (it wipes itself) as soon as it is written.
    pub fn to_bytes(&self) -> crate::SecretBytes {
        let frame = SignedPreKeyPairFrame {
            suite: crate::wire::SUITE_V1,
            id: self.public.id,
            created_at: self.public.created_at,
            secret: secret_copy(&self.secret),
            signature: self.public.signature,
        };
        crate::SecretBytes::new(frame.to_secret_vec())
    }

    /// Loads a pair from the encoding [`to_bytes`](Self::to_bytes) wrote,
    /// recomputing the public key from the private key.
    ///
    /// The signature is **not** checked (no identity key is at hand): it is
    /// carried as stored. An encoding read from storage that an attacker may
    /// have written should be checked with
    /// [`SignedPreKey::verify`] on [`public`](Self::public) before its
    /// public half is published.
    ///
    /// # Errors
    /// [`DecodeError`]: `UnsupportedVersion`, `UnexpectedType` (wire type
    /// `KeyRecord`), `UnsupportedSuite`, `Truncated` or `TrailingBytes`.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = SignedPreKeyPairFrame::decode(bytes)?;
        let secret = StaticSecret::from(*frame.secret);
        let public = dh::public_of(&secret);
        Ok(SignedPreKeyPair {
            secret,
            public: SignedPreKey {
                id: frame.id,
                created_at: frame.created_at,
                public,
                signature: frame.signature,
            },
        })
    }
}

/// The stored bytes of an X25519 private key (unclamped, as generated),
/// in a buffer that wipes itself.
fn secret_copy(secret: &StaticSecret) -> Zeroizing<[u8; KEY_LEN]> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    out.copy_from_slice(secret.as_bytes());
    out
}

impl fmt::Debug for SignedPreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The public half of a one-time prekey.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OneTimePreKey {
    pub(super) id: u32,
    pub(super) public: [u8; KEY_LEN],
}

impl OneTimePreKey {
    /// Assembles a one-time prekey from its published parts.
    ///
    /// # Errors
    /// [`DecodeError::InvalidKey`] if `public` is not a canonical X25519 key
    /// of the prime-order subgroup (PROTOCOL.md §3.2).
    pub fn from_parts(id: u32, public: &[u8; KEY_LEN]) -> crate::Result<Self> {
        Ok(OneTimePreKey {
            id,
            public: *x25519_public(public)?.as_bytes(),
        })
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The X25519 public key.
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public
    }
}

impl fmt::Debug for OneTimePreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKey")
            .field("id", &self.id)
            .field("public", &Hex(&self.public))
            .finish()
    }
}

/// A one-time prekey with its private half. Used for at most one session.
pub struct OneTimePreKeyPair {
    secret: StaticSecret,
    public: OneTimePreKey,
}

impl OneTimePreKeyPair {
    /// Generates one one-time prekey.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: u32) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        let public = dh::public_of(&secret);
        OneTimePreKeyPair {
            secret,
            public: OneTimePreKey { id, public },
        }
    }

    /// Generates `count` one-time prekeys with ids `first_id`, `first_id + 1`, ….
    ///
    /// # Errors
    /// [`MisuseError::BatchTooLarge`](crate::MisuseError::BatchTooLarge) if
    /// `count` exceeds [`MAX_PREKEY_BATCH`](crate::MAX_PREKEY_BATCH) or the
    /// ids would pass `u32::MAX`.
    pub fn generate_batch<R: CryptoRng + ?Sized>(
        rng: &mut R,
        first_id: u32,
        count: usize,
    ) -> crate::Result<Vec<Self>> {
        check_batch(first_id, count)?;
        Ok((first_id..)
            .take(count)
            .map(|id| Self::generate(rng, id))
            .collect())
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.public.id
    }

    /// The public half, to publish.
    pub fn public(&self) -> &OneTimePreKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    /// The private encoding of this pair, to store: the id and the private
    /// key (38 bytes, type `0x35`; layout in `docs/STORAGE.md`). The public
    /// key is not in it; [`from_bytes`](Self::from_bytes) recomputes it.
    ///
    /// # Security
    /// The encoding holds the private key: store it encrypted (an
    /// [`Account`](crate::client::Account) seals it under its
    /// [`StorageKeyring`](crate::client::StorageKeyring)) and let the
    /// buffer drop (it wipes itself) as soon as it is written.
    pub fn to_bytes(&self) -> crate::SecretBytes {
        let frame = OneTimePreKeyPairFrame {
            id: self.public.id,
            secret: secret_copy(&self.secret),
        };
        crate::SecretBytes::new(frame.to_secret_vec())
    }

    /// Loads a pair from the encoding [`to_bytes`](Self::to_bytes) wrote,
    /// recomputing the public key from the private key. (One-time prekeys
    /// carry no signature, so there is none to check.)
    ///
    /// # Errors
    /// [`DecodeError`]: `UnsupportedVersion`, `UnexpectedType` (wire type
    /// `KeyRecord`), `Truncated` or `TrailingBytes`.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = OneTimePreKeyPairFrame::decode(bytes)?;
        let secret = StaticSecret::from(*frame.secret);
        let public = dh::public_of(&secret);
        Ok(OneTimePreKeyPair {
            secret,
            public: OneTimePreKey {
                id: frame.id,
                public,
            },
        })
    }
}

impl fmt::Debug for OneTimePreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePreKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for SignedPreKeyPair {}
impl ZeroizeOnDrop for OneTimePreKeyPair {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(signed: &SignedPreKeyPair, one_time: &OneTimePreKeyPair) {
    use crate::hygiene::zod;
    let SignedPreKeyPair { secret, public: _ } = signed;
    zod(secret);
    let OneTimePreKeyPair { secret, public: _ } = one_time;
    zod(secret);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::WireType;
    use crate::vectors::seeded;
    use crate::{
        Error, KemPreKeyPair, PreKeyBundle, PreKeyMessage, ProtocolError, Session, SessionConfig,
    };

    /// Checks the framing of a valid key pair encoding: it decodes; every
    /// truncation is `Truncated`; a trailing byte is `TrailingBytes`; every
    /// other version byte is `UnsupportedVersion`; every other type byte is
    /// `UnexpectedType`.
    pub(crate) fn check_framing(record: &[u8], decode: impl Fn(&[u8]) -> crate::Result<()>) {
        decode(record).unwrap();
        for cut in 0..record.len() {
            assert!(
                matches!(
                    decode(&record[..cut]),
                    Err(Error::Decode(DecodeError::Truncated {
                        wire_type: WireType::KeyPair,
                        ..
                    }))
                ),
                "truncated to {cut} bytes"
            );
        }
        let mut long = record.to_vec();
        long.push(0);
        assert_eq!(
            decode(&long),
            Err(Error::Decode(DecodeError::TrailingBytes {
                wire_type: WireType::KeyPair,
                count: 1,
            }))
        );
        for byte in 0..=u8::MAX {
            let mut bad = record.to_vec();
            bad[0] = byte;
            if byte != crate::PROTOCOL_VERSION {
                assert_eq!(
                    decode(&bad),
                    Err(Error::Decode(DecodeError::UnsupportedVersion {
                        found: byte
                    }))
                );
            }
            let mut bad = record.to_vec();
            bad[1] = byte;
            if byte != record[1] {
                assert_eq!(
                    decode(&bad),
                    Err(Error::Decode(DecodeError::UnexpectedType {
                        expected: WireType::KeyPair,
                        found: byte,
                    }))
                );
            }
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn signed_prekey_record_round_trips() {
        let mut rng = seeded("key records: signed");
        let identity = IdentityKeyPair::generate(&mut rng);
        let pair = SignedPreKeyPair::generate(&mut rng, &identity, 0xfeed_0001, 1_767_225_600);
        let record = pair.to_bytes();
        assert_eq!(record.len(), 111);
        // The private key is stored as generated (unclamped).
        assert_eq!(&record[15..47], pair.secret().as_bytes());
        let back = SignedPreKeyPair::from_bytes(&record).unwrap();
        assert_eq!(back.public(), pair.public());
        assert_eq!(back.secret().as_bytes(), pair.secret().as_bytes());
        assert_eq!(back.to_bytes(), record);
        back.public().verify(identity.public_key()).unwrap();
        check_framing(&record, |b| SignedPreKeyPair::from_bytes(b).map(drop));
        let mut bad_suite = record.to_vec();
        bad_suite[2] = 0x02;
        assert_eq!(
            SignedPreKeyPair::from_bytes(&bad_suite).err(),
            Some(Error::Decode(DecodeError::UnsupportedSuite { found: 0x02 }))
        );
        let debug = format!("{back:?} {back:#?} {record:?}");
        assert!(!debug.contains(&hex(&record[15..47])), "{debug}");
    }

    #[test]
    fn one_time_prekey_record_round_trips() {
        let mut rng = seeded("key records: one-time");
        let pair = OneTimePreKeyPair::generate(&mut rng, 77);
        let record = pair.to_bytes();
        assert_eq!(record.len(), 38);
        assert_eq!(&record[6..], pair.secret().as_bytes());
        let back = OneTimePreKeyPair::from_bytes(&record).unwrap();
        assert_eq!(back.public(), pair.public());
        assert_eq!(back.to_bytes(), record);
        check_framing(&record, |b| OneTimePreKeyPair::from_bytes(b).map(drop));
        let debug = format!("{back:?} {back:#?}");
        assert!(!debug.contains(&hex(&record[6..])), "{debug}");
    }

    /// An encoding cannot pair a secret with a public key that is not its
    /// own: the public key is recomputed on load. Secrets are stored
    /// unclamped, so every 32-byte string is a secret and round-trips as is.
    #[test]
    fn a_record_public_key_always_matches_its_secret() {
        let mut rng = seeded("key records: consistency");
        let identity = IdentityKeyPair::generate(&mut rng);
        let pair = SignedPreKeyPair::generate(&mut rng, &identity, 1, 2);
        let peer = OneTimePreKeyPair::generate(&mut rng, 3);

        let mut altered = pair.to_bytes().to_vec();
        altered[20] ^= 0x01;
        let loaded = SignedPreKeyPair::from_bytes(&altered).unwrap();
        assert_eq!(
            loaded.public().public_key(),
            &dh::public_of(loaded.secret())
        );
        assert_ne!(loaded.public().public_key(), pair.public().public_key());
        // The stored signature no longer covers the key, and loading could
        // not tell: checking it is the caller's step.
        assert_eq!(
            loaded.public().verify(identity.public_key()),
            Err(Error::Protocol(ProtocolError::InvalidSignature {
                object: SignedObject::SignedPreKey
            }))
        );

        // The reloaded secret agrees with the original's public key.
        let back = SignedPreKeyPair::from_bytes(&pair.to_bytes()).unwrap();
        assert_eq!(
            *dh::agree(back.secret(), peer.public().public_key()).unwrap(),
            *dh::agree(peer.secret(), pair.public().public_key()).unwrap()
        );

        // Unclamped bytes (low bits and top bit set) are kept byte for byte.
        let mut raw = pair.to_bytes().to_vec();
        raw[15..47].fill(0xff);
        let kept = SignedPreKeyPair::from_bytes(&raw).unwrap();
        assert_eq!(kept.to_bytes().as_bytes(), &raw[..]);
        let mut raw = peer.to_bytes().to_vec();
        raw[6..].fill(0xff);
        let kept = OneTimePreKeyPair::from_bytes(&raw).unwrap();
        assert_eq!(kept.to_bytes().as_bytes(), &raw[..]);
        assert_eq!(
            kept.public().public_key(),
            &dh::public_of(&StaticSecret::from([0xff; KEY_LEN]))
        );
    }

    /// Bob's keys go to records and come back; the reloaded keys answer
    /// Alice's first message, and the session works both ways.
    #[test]
    fn respond_with_keys_reloaded_from_records() {
        let mut rng = seeded("key records: respond");
        let config = SessionConfig::default();
        let alice = IdentityKeyPair::generate(&mut rng);
        let bob = IdentityKeyPair::generate(&mut rng);
        for last_resort in [false, true] {
            let (spk, opk, kem) = {
                let spk = SignedPreKeyPair::generate(&mut rng, &bob, 1, 1_767_225_600);
                let opk = OneTimePreKeyPair::generate(&mut rng, 2);
                let kem = KemPreKeyPair::generate(&mut rng, &bob, 3, last_resort, 1_767_225_600);
                (spk.to_bytes(), opk.to_bytes(), kem.to_bytes())
            };
            let spk = SignedPreKeyPair::from_bytes(&spk).unwrap();
            let opk = OneTimePreKeyPair::from_bytes(&opk).unwrap();
            let kem = KemPreKeyPair::from_bytes(&kem).unwrap();
            assert_eq!(kem.is_last_resort(), last_resort);
            let bundle = PreKeyBundle::new(
                bob.public_key().clone(),
                spk.public().clone(),
                Some(*opk.public()),
                kem.public().clone(),
            );
            let verified = PreKeyBundle::from_bytes(&bundle.to_bytes())
                .unwrap()
                .verify()
                .unwrap();
            let mut a = Session::initiate(&mut rng, &alice, &verified, config.clone()).unwrap();
            let first = a.encrypt(&mut rng, b"hello Bob").unwrap();
            let hello = PreKeyMessage::from_bytes(&first).unwrap();
            // Reload again right before answering, as a restarted client would.
            let spk = SignedPreKeyPair::from_bytes(&spk.to_bytes()).unwrap();
            let opk = OneTimePreKeyPair::from_bytes(&opk.to_bytes()).unwrap();
            let kem = KemPreKeyPair::from_bytes(&kem.to_bytes()).unwrap();
            let inbound =
                Session::respond(&bob, &spk, Some(&opk), &kem, &hello, config.clone()).unwrap();
            assert_eq!(inbound.plaintext, b"hello Bob");
            let mut b = inbound.session;
            let reply = b.encrypt(&mut rng, b"hello Alice").unwrap();
            assert_eq!(a.decrypt(&reply).unwrap(), b"hello Alice");
        }
    }
}
