//! Another device's sender key, as a receiver holds it (PROTOCOL.md
//! §16.4): its chain from the iteration it was given on, the keys of
//! messages it skipped, and the public key its messages are signed with.

use core::fmt;

use ed25519_dalek::VerifyingKey;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::GroupId;
use super::message::{associated_data, embedded_sender};
use super::sender_key::SenderKeyDistribution;
use crate::address::DeviceAddress;
use crate::crypto::{kdf, labels};
use crate::error::{DecodeError, Error, GroupError, KeyKind, ProtocolError, WireType};
use crate::keys::{parse_ed25519, verifies_strictly};
use crate::limits::{GROUP_MESSAGE_HEADER_LEN, MAX_GROUP_FORWARD_JUMP, MAX_GROUP_SKIPPED_KEYS};
use crate::ratchet::{MessageKeySeed, SkippedKeys};
use crate::secret::SecretBytes;
use crate::sizes::TAG_LEN;
use crate::wire::{DeviceAddressFrame, Frame, GroupMessageFrame, ReceivedSenderKeyFrame};

// Every key a jump skips is kept, so a jump never passes over a key
// without keeping it (and `floor` moves only by eviction).
const _: () = assert!(MAX_GROUP_FORWARD_JUMP <= MAX_GROUP_SKIPPED_KEYS);

/// The skipped-key store's chain number: a received sender key is one chain.
const CHAIN: u32 = 0;

/// What a receiver holds of one sending device's sender key for one
/// group and epoch, from a [`SenderKeyDistribution`] it received over
/// its pairwise session with that device.
///
/// # Security
/// Store [`to_secret_bytes`](ReceivedSenderKey::to_secret_bytes) after
/// every successful [`decrypt`](ReceivedSenderKey::decrypt): an older
/// record would accept a replay of the messages decrypted since.
pub struct ReceivedSenderKey {
    group: GroupId,
    epoch: u64,
    key_id: u32,
    sender: DeviceAddress,
    signing_key: VerifyingKey,
    /// No message key below this iteration is held (or will be).
    floor: u32,
    /// The iteration `chain_key` is at.
    next_iteration: u32,
    chain_key: Zeroizing<[u8; 32]>,
    skipped: SkippedKeys,
}

/// A forward step, computed before anything changes.
struct Forward {
    chain_key: Zeroizing<[u8; 32]>,
    next_iteration: u32,
    kept: Vec<(u32, MessageKeySeed)>,
}

impl ReceivedSenderKey {
    /// The sender key of `sender` as given by `distribution`: messages
    /// from its iteration on decrypt, none before it.
    ///
    /// # Security
    /// Accept a distribution only from the pairwise session with
    /// `sender` itself, and only for a group `sender` is a member of.
    pub fn from_distribution(
        distribution: &SenderKeyDistribution,
        sender: &DeviceAddress,
    ) -> ReceivedSenderKey {
        ReceivedSenderKey {
            group: *distribution.group_id(),
            epoch: distribution.epoch(),
            key_id: distribution.key_id(),
            sender: sender.clone(),
            signing_key: *distribution.verifying_key(),
            floor: distribution.iteration(),
            next_iteration: distribution.iteration(),
            chain_key: distribution.chain_key().clone(),
            skipped: SkippedKeys::default(),
        }
    }

    /// The group.
    pub fn group_id(&self) -> &GroupId {
        &self.group
    }

    /// The group epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The sender's signing key, checked.
    pub(crate) fn signing_key(&self) -> &VerifyingKey {
        &self.signing_key
    }

    /// The device whose sender key this is.
    pub fn sender(&self) -> &DeviceAddress {
        &self.sender
    }

    /// The next iteration in order.
    pub fn next_iteration(&self) -> u32 {
        self.next_iteration
    }

    /// How many skipped message keys are held.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Decrypts the group message `bytes` received from `sender`.
    ///
    /// The checks, in order (PROTOCOL.md §16.4): the bytes decode; the
    /// group, epoch and key id are this key's; `sender` is this key's
    /// sender; the signature verifies (before any chain work); the
    /// iteration is new and within reach; the AEAD opens; the padding is
    /// sound. Only then does the state change.
    ///
    /// # Errors
    /// [`DecodeError`](crate::DecodeError); [`GroupError::WrongGroup`],
    /// [`GroupError::WrongEpoch`], [`GroupError::UnknownSenderKey`],
    /// [`GroupError::WrongSender`]; [`Error::DecryptionFailed`] for a bad
    /// signature or tag; [`GroupError::Duplicate`],
    /// [`GroupError::MessageKeyExpired`], [`GroupError::JumpTooFar`],
    /// [`ProtocolError::ChainExhausted`], [`ProtocolError::InvalidPadding`].
    /// Nothing changes on an error.
    pub fn decrypt(&mut self, sender: &DeviceAddress, bytes: &[u8]) -> crate::Result<Vec<u8>> {
        let frame = GroupMessageFrame::decode(bytes)?;
        let h = &frame.header;
        if &h.group_id != self.group.as_bytes() {
            return Err(GroupError::WrongGroup.into());
        }
        if h.epoch != self.epoch {
            return Err(GroupError::WrongEpoch {
                expected: self.epoch,
                found: h.epoch,
            }
            .into());
        }
        if h.key_id != self.key_id {
            return Err(GroupError::UnknownSenderKey { key_id: h.key_id }.into());
        }
        if sender != &self.sender {
            return Err(GroupError::WrongSender.into());
        }
        let sender_bytes = embedded_sender(sender);
        let signed = bytes
            .get(..frame.signed_len())
            .ok_or(Error::DecryptionFailed)?;
        if !verifies_strictly(
            &self.signing_key,
            labels::SIG_GROUP_MESSAGE,
            &[&sender_bytes, signed],
            &frame.signature,
        ) {
            return Err(Error::DecryptionFailed);
        }

        let iteration = h.iteration;
        let (key, forward) = if iteration >= self.next_iteration {
            let forward = self.follow(iteration)?;
            let Some((_, seed)) = forward.kept.last() else {
                return Err(Error::DecryptionFailed);
            };
            (seed.expand_group(), Some(forward))
        } else if iteration < self.floor {
            return Err(GroupError::MessageKeyExpired { iteration }.into());
        } else {
            match self.skipped.get(CHAIN, iteration) {
                Some(seed) => (seed.expand_group(), None),
                None => return Err(GroupError::Duplicate { iteration }.into()),
            }
        };

        let header = bytes
            .get(..GROUP_MESSAGE_HEADER_LEN)
            .ok_or(Error::DecryptionFailed)?;
        let ad = associated_data(self.group.as_bytes(), self.epoch, &sender_bytes, header);
        let split = frame.ciphertext.len().saturating_sub(TAG_LEN);
        let (body, tag) = frame.ciphertext.split_at(split);
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::DecryptionFailed)?;
        // The padded plaintext is wiped if the padding is refused.
        let mut out = Zeroizing::new(vec![0u8; body.len()]);
        key.decrypt(&ad, body, tag, &mut out)
            .map_err(|()| Error::DecryptionFailed)?;
        let Some(len) = crate::wire::unpadded_len(&out) else {
            return Err(ProtocolError::InvalidPadding.into());
        };
        out.truncate(len);

        // Commit.
        match forward {
            Some(mut forward) => {
                // The last kept seed is the message's own; the rest are skipped.
                forward.kept.pop();
                self.chain_key = forward.chain_key;
                self.next_iteration = forward.next_iteration;
                let evicted =
                    self.skipped
                        .extend(CHAIN, forward.kept, MAX_GROUP_SKIPPED_KEYS as usize);
                for (_, highest) in evicted {
                    self.floor = self.floor.max(highest.saturating_add(1));
                }
            }
            None => self.skipped.remove(CHAIN, iteration),
        }
        Ok(core::mem::take(&mut *out))
    }

    /// The chain followed from the next iteration through `iteration`
    /// (whose seed is the last kept), without changing `self`.
    fn follow(&self, iteration: u32) -> crate::Result<Forward> {
        let jump = iteration - self.next_iteration;
        if jump > MAX_GROUP_FORWARD_JUMP {
            return Err(GroupError::JumpTooFar {
                next: self.next_iteration,
                iteration,
            }
            .into());
        }
        let next_iteration = iteration
            .checked_add(1)
            .ok_or(ProtocolError::ChainExhausted)?;
        let mut kept = Vec::with_capacity(jump as usize + 1);
        let mut key: Option<Zeroizing<[u8; 32]>> = None;
        for index in self.next_iteration..=iteration {
            let (seed, next) = kdf::group_chain_step(key.as_deref().unwrap_or(&self.chain_key));
            kept.push((index, MessageKeySeed::new(seed)));
            key = Some(next);
        }
        Ok(Forward {
            chain_key: key.unwrap_or_else(|| self.chain_key.clone()),
            next_iteration,
            kept,
        })
    }

    /// The state as a record (PROTOCOL.md §16.4, type `0x75`), to be
    /// stored sealed.
    pub fn to_secret_bytes(&self) -> SecretBytes {
        SecretBytes::new(
            ReceivedSenderKeyFrame {
                group_id: *self.group.as_bytes(),
                epoch: self.epoch,
                key_id: self.key_id,
                floor: self.floor,
                next_iteration: self.next_iteration,
                chain_key: &self.chain_key,
                signing_key: self.signing_key.to_bytes(),
                sender: DeviceAddressFrame::of(&self.sender),
                skipped: self
                    .skipped
                    .iter()
                    .map(|(_, index, seed)| (index, seed.bytes()))
                    .collect(),
            }
            .to_secret_vec(),
        )
    }

    /// Restores a received sender key from
    /// [`to_secret_bytes`](ReceivedSenderKey::to_secret_bytes), checking
    /// every invariant: a strict signing key, a valid sender address,
    /// `floor ≤ next_iteration`, and skipped iterations strictly ascending
    /// within `floor .. next_iteration`.
    ///
    /// # Errors
    /// [`DecodeError`](crate::DecodeError) or
    /// [`AddressError`](crate::AddressError).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        Self::from_bytes_with(bytes, |_| None)
    }

    /// As [`ReceivedSenderKey::from_bytes`], taking the signing key from
    /// `checked` when it returns one for the record's key bytes. `checked`
    /// must return only a key that `parse_ed25519` accepted from exactly
    /// those bytes (a cache of keys already checked): the subgroup check
    /// costs a scalar multiplication, most of decoding a record.
    pub(crate) fn from_bytes_with(
        bytes: &[u8],
        checked: impl FnOnce(&[u8; 32]) -> Option<VerifyingKey>,
    ) -> crate::Result<Self> {
        let f = ReceivedSenderKeyFrame::decode(bytes)?;
        let signing_key = match checked(&f.signing_key) {
            Some(key) if key.as_bytes() == &f.signing_key => key,
            _ => parse_ed25519(&f.signing_key, KeyKind::SenderKeySigning)?,
        };
        let sender = f.sender.to_address()?;
        if f.floor > f.next_iteration {
            return Err(invalid("floor", f.floor));
        }
        let mut items = Vec::with_capacity(f.skipped.len());
        for (index, seed) in &f.skipped {
            if *index < f.floor || *index >= f.next_iteration {
                return Err(invalid("skipped", *index));
            }
            items.push((CHAIN, *index, MessageKeySeed::new(Zeroizing::new(**seed))));
        }
        let skipped = SkippedKeys::from_sorted(items).ok_or_else(|| invalid("skipped", 0))?;
        Ok(ReceivedSenderKey {
            group: GroupId::from_bytes(f.group_id),
            epoch: f.epoch,
            key_id: f.key_id,
            sender,
            signing_key,
            floor: f.floor,
            next_iteration: f.next_iteration,
            chain_key: Zeroizing::new(*f.chain_key),
            skipped,
        })
    }
}

fn invalid(field: &'static str, found: u32) -> Error {
    DecodeError::InvalidField {
        wire_type: WireType::ReceivedSenderKeyRecord,
        field,
        found,
    }
    .into()
}

impl fmt::Debug for ReceivedSenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedSenderKey")
            .field("group", &self.group)
            .field("epoch", &self.epoch)
            .field("key_id", &self.key_id)
            .field("sender", &self.sender)
            .field("next_iteration", &self.next_iteration)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for ReceivedSenderKey {}
impl ZeroizeOnDrop for Forward {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(key: &ReceivedSenderKey, forward: &Forward) {
    use crate::hygiene::{zod, zod_all};
    // Group, epoch, key id, sender and iterations are public (message
    // headers, envelopes); the signing key is a public key.
    let ReceivedSenderKey {
        group: _,
        epoch: _,
        key_id: _,
        sender: _,
        signing_key: _,
        floor: _,
        next_iteration: _,
        chain_key,
        skipped,
    } = key;
    zod(chain_key);
    zod(skipped);
    let Forward {
        chain_key,
        next_iteration: _,
        kept,
    } = forward;
    zod(chain_key);
    zod_all(kept.iter().map(|(_index, seed)| seed));
}
