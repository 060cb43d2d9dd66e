//! Prekey uploads: what a device sends its server, and the checks a server
//! makes before it stores anything. The byte layout is in `wire/upload.rs`.

use core::fmt;
use std::collections::BTreeSet;

use super::{IdentityKey, IdentityKeyPair, KemPreKey, OneTimePreKey, SignedPreKey};
use crate::crypto::labels::SIG_UPLOAD;
use crate::error::{PreKeyRole, SignedObject, UploadError};
use crate::limits::{MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD};
use crate::wire::{
    Frame, KemPreKeyFrame, OneTimePreKeyFrame, PreKeyCountsFrame, SIGNATURE_LEN, SignedPreKeyFrame,
    UploadBodyFrame, UploadFrame,
};

/// What a device uploads to its server: any of a new signed prekey, a new
/// last-resort ML-KEM prekey, a batch of one-time X25519 prekeys and a
/// batch of one-time ML-KEM prekeys, signed as a whole by the device's
/// identity key.
///
/// The whole-upload signature is what ties the one-time X25519 prekeys,
/// which carry no signature of their own, to the device: a server can
/// check that every key it stores for a device came from that device.
/// Each signed prekey and ML-KEM prekey also carries its own signature,
/// which the server checks too, so it never hands out a bundle that
/// senders would refuse.
///
/// A device builds an upload with [`PreKeyUpload::builder`]; a server
/// decodes it with [`PreKeyUpload::from_bytes`] (structure, key validity,
/// consistency) and checks it against the device's identity key with
/// [`PreKeyUpload::verify`] (identity, signatures). Only the
/// [`VerifiedUpload`] that returns can be stored in a
/// [`PreKeyDirectory`](crate::server::PreKeyDirectory), which adds the checks that
/// need its state (fresh ids, storage limits).
///
/// The byte layout (109 to 131 178 bytes) is in `docs/SERVER.md`.
///
/// Decoding checks, in this order: the length against [`MAX_UPLOAD_LEN`](crate::limits::MAX_UPLOAD_LEN)
/// before reading anything; then the structure front to back (version,
/// type, suite, flags, each count against its maximum before the entries
/// it counts, no trailing bytes); then every key, in field order; then
/// consistency (not empty, last-resort flags matching their place, no id
/// twice within a kind, the last-resort key sharing the one-time KEM keys'
/// id space). [`PreKeyUpload::verify`] then checks the identity key, the
/// upload signature, and every prekey signature in field order. For every
/// accepted input `b`, `PreKeyUpload::from_bytes(b)?.to_bytes() == b`.
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeyUpload {
    contents: Contents,
    signature: [u8; SIGNATURE_LEN],
}

/// The keys of an upload, without its signature.
#[derive(Clone, PartialEq, Eq)]
struct Contents {
    identity_key: IdentityKey,
    signed_prekey: Option<SignedPreKey>,
    last_resort: Option<KemPreKey>,
    one_time_prekeys: Vec<OneTimePreKey>,
    kem_prekeys: Vec<KemPreKey>,
}

impl PreKeyUpload {
    /// Starts an upload signed by `identity`. Add keys, then call
    /// [`PreKeyUploadBuilder::to_bytes`].
    pub fn builder(identity: &IdentityKeyPair) -> PreKeyUploadBuilder<'_> {
        PreKeyUploadBuilder {
            identity,
            signed_prekey: None,
            last_resort: None,
            one_time_prekeys: Vec::new(),
            kem_prekeys: Vec::new(),
        }
    }

    /// Decodes an upload, validates every key in it and checks its
    /// consistency. Signatures are checked by [`PreKeyUpload::verify`].
    ///
    /// # Errors
    /// - [`Error::Decode`](crate::Error::Decode) for malformed bytes
    ///   (with [`WireType::PreKeyUpload`](crate::WireType::PreKeyUpload)), input longer than
    ///   [`MAX_UPLOAD_LEN`](crate::limits::MAX_UPLOAD_LEN) (`LengthOutOfRange`, before anything is read),
    ///   or an invalid identity key;
    /// - [`UploadError::TooMany`] for a count above its maximum (read before
    ///   the entries it counts);
    /// - [`UploadError::InvalidKey`] naming the first invalid prekey;
    /// - [`UploadError::Empty`], [`UploadError::LastResortMismatch`],
    ///   [`UploadError::DuplicateId`].
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = UploadFrame::decode(bytes)?;
        let body = frame.body;
        let contents = Contents {
            identity_key: IdentityKey::from_bytes(&body.identity_key)?,
            signed_prekey: body.signed_prekey.map(signed_prekey).transpose()?,
            last_resort: body.last_resort.map(kem_prekey).transpose()?,
            one_time_prekeys: body
                .one_time_prekeys
                .into_iter()
                .map(one_time_prekey)
                .collect::<Result<_, _>>()?,
            kem_prekeys: body
                .kem_prekeys
                .into_iter()
                .map(kem_prekey)
                .collect::<Result<_, _>>()?,
        };
        contents.check()?;
        Ok(PreKeyUpload {
            contents,
            signature: frame.signature,
        })
    }

    /// Encodes the upload, exactly as it was decoded or built.
    pub fn to_bytes(&self) -> Vec<u8> {
        UploadFrame {
            body: self.contents.frame(),
            signature: self.signature,
        }
        .to_vec()
    }

    /// Checks the upload against the identity key the directory holds for
    /// the device: that the upload names it, that it signed the whole
    /// upload, and that it signed every signed prekey and ML-KEM prekey in
    /// it.
    ///
    /// # Errors
    /// [`UploadError::IdentityMismatch`],
    /// [`UploadError::InvalidUploadSignature`], or
    /// [`UploadError::InvalidSignature`] naming the first prekey whose
    /// signature fails (signed prekey, last-resort key, one-time KEM keys in
    /// order).
    pub fn verify(self, identity: &IdentityKey) -> crate::Result<VerifiedUpload> {
        let c = &self.contents;
        if c.identity_key != *identity {
            return Err(UploadError::IdentityMismatch.into());
        }
        // The object passed only labels the error, which is replaced here.
        identity
            .verify(
                SignedObject::SignedPreKey,
                SIG_UPLOAD,
                &[&c.encode()],
                &self.signature,
            )
            .map_err(|_| UploadError::InvalidUploadSignature)?;
        if let Some(spk) = &c.signed_prekey {
            spk.verify(identity)
                .map_err(|_| UploadError::InvalidSignature {
                    prekey: PreKeyRole::Signed,
                    id: spk.id(),
                })?;
        }
        for kem in c.last_resort.iter().chain(&c.kem_prekeys) {
            kem.verify(identity)
                .map_err(|_| UploadError::InvalidSignature {
                    prekey: PreKeyRole::Kem,
                    id: kem.id(),
                })?;
        }
        Ok(VerifiedUpload(self))
    }

    /// The identity key the upload names.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.contents.identity_key
    }

    /// The new signed prekey, if the upload carries one.
    pub fn signed_prekey(&self) -> Option<&SignedPreKey> {
        self.contents.signed_prekey.as_ref()
    }

    /// The new last-resort ML-KEM prekey, if the upload carries one.
    pub fn last_resort_prekey(&self) -> Option<&KemPreKey> {
        self.contents.last_resort.as_ref()
    }

    /// The one-time X25519 prekeys, in upload order.
    pub fn one_time_prekeys(&self) -> &[OneTimePreKey] {
        &self.contents.one_time_prekeys
    }

    /// The one-time ML-KEM prekeys, in upload order.
    pub fn kem_prekeys(&self) -> &[KemPreKey] {
        &self.contents.kem_prekeys
    }
}

impl fmt::Debug for PreKeyUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.contents;
        f.debug_struct("PreKeyUpload")
            .field("identity_key", &c.identity_key)
            .field("signed_prekey", &c.signed_prekey)
            .field("last_resort", &c.last_resort)
            .field("one_time_prekeys", &c.one_time_prekeys.len())
            .field("kem_prekeys", &c.kem_prekeys.len())
            .finish_non_exhaustive()
    }
}

/// An upload whose identity key and signatures have been checked against
/// the device's identity key. The only way to get one is
/// [`PreKeyUpload::verify`]; a [`PreKeyDirectory`](crate::server::PreKeyDirectory)
/// stores nothing else.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedUpload(PreKeyUpload);

impl VerifiedUpload {
    /// The verified upload.
    pub fn upload(&self) -> &PreKeyUpload {
        &self.0
    }

    /// Gives the upload back.
    pub fn into_upload(self) -> PreKeyUpload {
        self.0
    }
}

/// How many one-time prekeys of each kind a directory holds for a device:
/// what a server tells the device, so that it uploads more in time.
///
/// These two counts are all a device needs from its server to refill
/// ([`Account::one_time_prekeys_needed`](crate::client::Account::one_time_prekeys_needed)):
/// it knows its own signed prekey and last-resort key, and when it made
/// them; the replenish threshold is the server's policy.
///
/// [`PreKeyCounts::to_bytes`] is the encoding servers of every app send
/// (PROTOCOL.md §4.6, 10 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PreKeyCounts {
    one_time: usize,
    kem: usize,
}

impl PreKeyCounts {
    /// Counts of one-time X25519 and one-time ML-KEM prekeys.
    pub fn new(one_time: usize, kem: usize) -> Self {
        PreKeyCounts { one_time, kem }
    }

    /// One-time X25519 prekeys.
    pub fn one_time(&self) -> usize {
        self.one_time
    }

    /// One-time ML-KEM prekeys.
    pub fn kem(&self) -> usize {
        self.kem
    }

    /// Whether either kind is below `threshold`, so that the server should
    /// ask the device to upload more (for example with
    /// [`DEFAULT_REPLENISH_THRESHOLD`](crate::limits::DEFAULT_REPLENISH_THRESHOLD)).
    pub fn needs_replenish(&self, threshold: usize) -> bool {
        self.one_time < threshold || self.kem < threshold
    }

    /// The canonical encoding: version, type `0x21`, then each count as a
    /// u32 ([`PREKEY_COUNTS_LEN`](crate::wire::PREKEY_COUNTS_LEN) bytes).
    ///
    /// A count above `u32::MAX`, which no directory can hold (they keep at
    /// most [`MAX_STORED_ONE_TIME_PREKEYS`](crate::limits::MAX_STORED_ONE_TIME_PREKEYS)),
    /// is written as `u32::MAX`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        PreKeyCountsFrame {
            one_time: count(self.one_time),
            kem: count(self.kem),
        }
        .to_vec()
    }

    /// Decodes counts from [`PreKeyCounts::to_bytes`]. Any u32 is a count;
    /// for every accepted input `b`,
    /// `PreKeyCounts::from_bytes(b)?.to_bytes() == b`.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::PreKeyCounts`](crate::WireType::PreKeyCounts):
    /// `UnsupportedVersion`, `UnexpectedType`, `Truncated`,
    /// `TrailingBytes`.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = PreKeyCountsFrame::decode(bytes)?;
        Ok(PreKeyCounts {
            one_time: frame.one_time as usize,
            kem: frame.kem as usize,
        })
    }
}

// Every count a directory may hold fits the u32 it is encoded in, and
// every u32 fits a `usize` on the targets kinseal builds for.
const _: () = assert!(crate::limits::MAX_STORED_ONE_TIME_PREKEYS <= u32::MAX as usize);
const _: () = assert!(crate::limits::MAX_STORED_KEM_PREKEYS <= u32::MAX as usize);
const _: () = assert!(usize::BITS >= 32);

/// Builds a [`PreKeyUpload`] on a device, from the public halves of its
/// keys. Made by [`PreKeyUpload::builder`].
///
/// ```
/// # fn main() -> kinseal::Result<()> {
/// use kinseal::PreKeyUpload;
/// use kinseal::{IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, OsRng, SignedPreKeyPair};
///
/// let mut rng = OsRng;
/// let now = 1_767_225_600;
/// let identity = IdentityKeyPair::generate(&mut rng);
/// let spk = SignedPreKeyPair::generate(&mut rng, &identity, 1, now);
/// let last_resort = KemPreKeyPair::generate(&mut rng, &identity, 1, true, now);
/// let one_time = OneTimePreKeyPair::generate_batch(&mut rng, 1, 100)?;
/// let kem = KemPreKeyPair::generate_batch(&mut rng, &identity, 2, 10, now)?;
///
/// let bytes = PreKeyUpload::builder(&identity)
///     .signed_prekey(spk.public())
///     .last_resort_prekey(last_resort.public())
///     .one_time_prekeys(one_time.iter().map(OneTimePreKeyPair::public))
///     .kem_prekeys(kem.iter().map(KemPreKeyPair::public))
///     .to_bytes()?;
/// // …sent to the server, which checks it:
/// let upload = PreKeyUpload::from_bytes(&bytes)?.verify(identity.public_key())?;
/// assert_eq!(upload.upload().one_time_prekeys().len(), 100);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PreKeyUploadBuilder<'a> {
    identity: &'a IdentityKeyPair,
    signed_prekey: Option<SignedPreKey>,
    last_resort: Option<KemPreKey>,
    one_time_prekeys: Vec<OneTimePreKey>,
    kem_prekeys: Vec<KemPreKey>,
}

impl PreKeyUploadBuilder<'_> {
    /// Sets the signed prekey to publish (replacing the current one).
    pub fn signed_prekey(mut self, key: &SignedPreKey) -> Self {
        self.signed_prekey = Some(key.clone());
        self
    }

    /// Sets the last-resort ML-KEM prekey to publish (replacing the current one).
    pub fn last_resort_prekey(mut self, key: &KemPreKey) -> Self {
        self.last_resort = Some(key.clone());
        self
    }

    /// Adds one-time X25519 prekeys.
    pub fn one_time_prekeys<'k>(
        mut self,
        keys: impl IntoIterator<Item = &'k OneTimePreKey>,
    ) -> Self {
        self.one_time_prekeys.extend(keys.into_iter().copied());
        self
    }

    /// Adds one-time ML-KEM prekeys.
    pub fn kem_prekeys<'k>(mut self, keys: impl IntoIterator<Item = &'k KemPreKey>) -> Self {
        self.kem_prekeys.extend(keys.into_iter().cloned());
        self
    }

    /// Checks the upload as a server would before it checks signatures, and
    /// encodes and signs it.
    ///
    /// # Errors
    /// [`UploadError::Empty`], [`UploadError::TooMany`],
    /// [`UploadError::LastResortMismatch`] or [`UploadError::DuplicateId`].
    /// (Whether each prekey was signed by this identity is not checked
    /// here; a server refuses one that was not.)
    pub fn to_bytes(&self) -> crate::Result<Vec<u8>> {
        let contents = Contents {
            identity_key: self.identity.public_key().clone(),
            signed_prekey: self.signed_prekey.clone(),
            last_resort: self.last_resort.clone(),
            one_time_prekeys: self.one_time_prekeys.clone(),
            kem_prekeys: self.kem_prekeys.clone(),
        };
        contents.check()?;
        let mut out = contents.encode();
        let signature = self.identity.sign(SIG_UPLOAD, &[&out]);
        out.extend_from_slice(&signature);
        Ok(out)
    }
}

impl Contents {
    /// The checks that need no identity and no directory state.
    fn check(&self) -> Result<(), UploadError> {
        if self.signed_prekey.is_none()
            && self.last_resort.is_none()
            && self.one_time_prekeys.is_empty()
            && self.kem_prekeys.is_empty()
        {
            return Err(UploadError::Empty);
        }
        check_count(
            PreKeyRole::OneTime,
            self.one_time_prekeys.len(),
            MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
        )?;
        check_count(
            PreKeyRole::Kem,
            self.kem_prekeys.len(),
            MAX_KEM_PREKEYS_PER_UPLOAD,
        )?;
        let last_resort = self.last_resort.iter().map(|k| (k, true));
        let one_time = self.kem_prekeys.iter().map(|k| (k, false));
        for (key, expected) in last_resort.clone().chain(one_time.clone()) {
            if key.is_last_resort() != expected {
                return Err(UploadError::LastResortMismatch {
                    id: key.id(),
                    expected,
                    found: key.is_last_resort(),
                });
            }
        }
        unique(
            PreKeyRole::OneTime,
            self.one_time_prekeys.iter().map(OneTimePreKey::id),
        )?;
        unique(
            PreKeyRole::Kem,
            last_resort.chain(one_time).map(|(k, _)| k.id()),
        )?;
        Ok(())
    }

    /// Everything before the upload signature, as bytes.
    fn encode(&self) -> Vec<u8> {
        let body = self.frame();
        let mut out = Vec::with_capacity(body.encoded_len() + SIGNATURE_LEN);
        body.encode(&mut out);
        out
    }

    fn frame(&self) -> UploadBodyFrame {
        UploadBodyFrame {
            identity_key: *self.identity_key.as_bytes(),
            signed_prekey: self.signed_prekey.as_ref().map(|s| SignedPreKeyFrame {
                id: s.id(),
                created_at: s.created_at(),
                public: *s.public_key(),
                signature: *s.signature(),
            }),
            last_resort: self.last_resort.as_ref().map(kem_frame),
            one_time_prekeys: self
                .one_time_prekeys
                .iter()
                .map(|k| OneTimePreKeyFrame {
                    id: k.id(),
                    public: *k.public_key(),
                })
                .collect(),
            kem_prekeys: self.kem_prekeys.iter().map(kem_frame).collect(),
        }
    }
}

fn kem_frame(k: &KemPreKey) -> KemPreKeyFrame {
    KemPreKeyFrame {
        id: k.id(),
        last_resort: k.is_last_resort(),
        created_at: k.created_at(),
        public: Box::new(*k.public_key()),
        signature: *k.signature(),
    }
}

fn check_count(prekey: PreKeyRole, found: usize, max: usize) -> Result<(), UploadError> {
    if found > max {
        return Err(UploadError::TooMany { prekey, max, found });
    }
    Ok(())
}

fn unique(prekey: PreKeyRole, ids: impl Iterator<Item = u32>) -> Result<(), UploadError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(UploadError::DuplicateId { prekey, id });
        }
    }
    Ok(())
}

fn signed_prekey(f: SignedPreKeyFrame) -> crate::Result<SignedPreKey> {
    SignedPreKey::from_parts(f.id, f.created_at, &f.public, &f.signature).map_err(|_| {
        UploadError::InvalidKey {
            prekey: PreKeyRole::Signed,
            id: f.id,
        }
        .into()
    })
}

fn one_time_prekey(f: OneTimePreKeyFrame) -> crate::Result<OneTimePreKey> {
    OneTimePreKey::from_parts(f.id, &f.public).map_err(|_| {
        UploadError::InvalidKey {
            prekey: PreKeyRole::OneTime,
            id: f.id,
        }
        .into()
    })
}

fn kem_prekey(f: KemPreKeyFrame) -> crate::Result<KemPreKey> {
    let id = f.id;
    KemPreKey::from_boxed(f.id, f.last_resort, f.created_at, f.public, f.signature).map_err(|_| {
        UploadError::InvalidKey {
            prekey: PreKeyRole::Kem,
            id,
        }
        .into()
    })
}
