//! A sending device's sender key for one group (PROTOCOL.md §16): a
//! symmetric chain and a signing key of its own, and the distribution
//! that gives both to the other members.

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::GroupId;
use super::message::{associated_data, embedded_sender, padded_len};
use crate::address::DeviceAddress;
use crate::crypto::{kdf, labels};
use crate::error::{KeyKind, MisuseError, ProtocolError};
use crate::keys::{parse_ed25519, random_secret, sign};
use crate::limits::{GROUP_MESSAGE_HEADER_LEN, MAX_PLAINTEXT_LEN};
use crate::ratchet::MessageKeySeed;
use crate::secret::SecretBytes;
use crate::sizes::{KEY_LEN, SIGNATURE_LEN, TAG_LEN};
use crate::wire::{
    Frame, GroupHeaderFrame, SenderKeyDistributionFrame, SenderKeyRecordFrame, pad_into,
};

/// This device's sender key for one group and epoch: a chain key that
/// steps once per message, the chain's iteration, a random key id that
/// names the chain, and an Ed25519 signing key made for this sender key
/// alone (not the device's identity key).
///
/// Every member device that should read this device's group messages is
/// given [`distribution`](SenderKey::distribution) over its pairwise
/// session. To remove a member, make a new sender key (a new key id) and
/// distribute it to the remaining members only.
///
/// # Security
/// The record from [`to_secret_bytes`](SenderKey::to_secret_bytes) must be
/// stored after every [`encrypt`](SenderKey::encrypt) and before the
/// message is sent: restoring an older record would reuse a message key.
pub struct SenderKey {
    group: GroupId,
    epoch: u64,
    key_id: u32,
    iteration: u32,
    chain_key: Zeroizing<[u8; 32]>,
    signing: SigningKey,
}

impl SenderKey {
    /// A fresh sender key for `group` at `epoch`: a random chain key at
    /// iteration 0, a random key id and a new signing key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, group: GroupId, epoch: u64) -> Self {
        let mut chain_key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut chain_key[..]);
        let key_id = rng.next_u32();
        let signing = SigningKey::from_bytes(&random_secret(rng));
        SenderKey {
            group,
            epoch,
            key_id,
            iteration: 0,
            chain_key,
            signing,
        }
    }

    /// The group.
    pub fn group_id(&self) -> &GroupId {
        &self.group
    }

    /// The group epoch this sender key belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The key id that names this chain.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The iteration of the next message.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// Encrypts and signs `plaintext` as the group message at the current
    /// iteration, sent by `sender` (this device's own address), and steps
    /// the chain. The plaintext is padded with the default policy of
    /// §7.6.
    ///
    /// # Errors
    /// [`MisuseError::PlaintextTooLong`] beyond
    /// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN);
    /// [`ProtocolError::ChainExhausted`] after 2³² − 1 messages (make a
    /// new sender key). Nothing changes on an error.
    pub fn encrypt(&mut self, sender: &DeviceAddress, plaintext: &[u8]) -> crate::Result<Vec<u8>> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(MisuseError::PlaintextTooLong {
                max: MAX_PLAINTEXT_LEN,
                found: plaintext.len(),
            }
            .into());
        }
        let next_iteration = self
            .iteration
            .checked_add(1)
            .ok_or(ProtocolError::ChainExhausted)?;
        let (seed, next_chain) = kdf::group_chain_step(&self.chain_key);
        let key = MessageKeySeed::new(seed).expand_group();

        let padded = padded_len(plaintext.len());
        let ciphertext_len = padded + TAG_LEN;
        // Holds the padded plaintext until the AEAD overwrites it: wiped if
        // anything fails before that.
        let mut out = Zeroizing::new(Vec::with_capacity(
            GROUP_MESSAGE_HEADER_LEN + ciphertext_len + SIGNATURE_LEN,
        ));
        GroupHeaderFrame {
            group_id: *self.group.as_bytes(),
            epoch: self.epoch,
            key_id: self.key_id,
            iteration: self.iteration,
        }
        .write(&mut out, ciphertext_len);
        let sender = embedded_sender(sender);
        let ad = associated_data(self.group.as_bytes(), self.epoch, &sender, &out);
        pad_into(&mut out, plaintext, padded);
        let Some(body) = out.get_mut(GROUP_MESSAGE_HEADER_LEN..) else {
            return Err(too_long(plaintext.len()));
        };
        // Not reachable: the AEAD refuses only lengths far beyond
        // MAX_PADDED_LEN, which the check above keeps to.
        let tag = key
            .encrypt(&ad, body)
            .map_err(|()| too_long(plaintext.len()))?;
        out.extend_from_slice(&tag);
        let signature = sign(&self.signing, labels::SIG_GROUP_MESSAGE, &[&sender, &out]);
        out.extend_from_slice(&signature);

        self.chain_key = next_chain;
        self.iteration = next_iteration;
        Ok(core::mem::take(&mut *out))
    }

    /// What a member device needs to decrypt this device's messages from
    /// the current iteration on: send it over the pairwise session.
    pub fn distribution(&self) -> SenderKeyDistribution {
        SenderKeyDistribution {
            group: self.group,
            epoch: self.epoch,
            key_id: self.key_id,
            iteration: self.iteration,
            chain_key: self.chain_key.clone(),
            signing_key: self.signing.verifying_key(),
        }
    }

    /// The sender key as a record (PROTOCOL.md §16.4, type `0x74`), to be
    /// stored sealed.
    pub fn to_secret_bytes(&self) -> SecretBytes {
        SecretBytes::new(
            SenderKeyRecordFrame {
                group_id: *self.group.as_bytes(),
                epoch: self.epoch,
                key_id: self.key_id,
                iteration: self.iteration,
                chain_key: &self.chain_key,
                signing_secret: self.signing.as_bytes(),
            }
            .to_secret_vec(),
        )
    }

    /// Restores a sender key from [`to_secret_bytes`](SenderKey::to_secret_bytes).
    ///
    /// # Errors
    /// [`DecodeError`](crate::DecodeError) for bytes that are not one record.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let f = SenderKeyRecordFrame::decode(bytes)?;
        Ok(SenderKey {
            group: GroupId::from_bytes(f.group_id),
            epoch: f.epoch,
            key_id: f.key_id,
            iteration: f.iteration,
            chain_key: Zeroizing::new(*f.chain_key),
            signing: SigningKey::from_bytes(f.signing_secret),
        })
    }
}

#[cfg(test)]
impl SenderKey {
    /// Every field, for tests that build messages by hand.
    pub(super) fn parts(&self) -> (&GroupId, u64, u32, u32, &[u8; 32], &SigningKey) {
        (
            &self.group,
            self.epoch,
            self.key_id,
            self.iteration,
            &self.chain_key,
            &self.signing,
        )
    }
}

fn too_long(found: usize) -> crate::Error {
    MisuseError::PlaintextTooLong {
        max: MAX_PLAINTEXT_LEN,
        found,
    }
    .into()
}

/// A sender key as its members receive it (PROTOCOL.md §16.2, type
/// `0x71`): the chain key at an iteration, and the public half of the
/// signing key. Secret: it travels only inside pairwise messages.
pub struct SenderKeyDistribution {
    group: GroupId,
    epoch: u64,
    key_id: u32,
    iteration: u32,
    chain_key: Zeroizing<[u8; 32]>,
    signing_key: VerifyingKey,
}

impl SenderKeyDistribution {
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

    /// The iteration of the chain key: the first message a receiver of
    /// this distribution can decrypt.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// The sender key's public signing key.
    pub fn signing_key(&self) -> [u8; KEY_LEN] {
        self.signing_key.to_bytes()
    }

    pub(super) fn chain_key(&self) -> &Zeroizing<[u8; 32]> {
        &self.chain_key
    }

    pub(super) fn verifying_key(&self) -> &VerifyingKey {
        &self.signing_key
    }

    /// The encoding, to be sent inside a pairwise message.
    pub fn to_secret_bytes(&self) -> SecretBytes {
        SecretBytes::new(
            SenderKeyDistributionFrame {
                group_id: *self.group.as_bytes(),
                epoch: self.epoch,
                key_id: self.key_id,
                iteration: self.iteration,
                chain_key: &self.chain_key,
                signing_key: self.signing_key.to_bytes(),
            }
            .to_secret_vec(),
        )
    }

    /// Decodes a distribution, checking its signing key strictly
    /// (canonical, not of small order, PROTOCOL.md §3.1).
    ///
    /// # Errors
    /// [`DecodeError`](crate::DecodeError), with
    /// [`KeyKind::SenderKeySigning`](crate::KeyKind::SenderKeySigning) for a
    /// bad signing key.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let f = SenderKeyDistributionFrame::decode(bytes)?;
        let signing_key = parse_ed25519(&f.signing_key, KeyKind::SenderKeySigning)?;
        Ok(SenderKeyDistribution {
            group: GroupId::from_bytes(f.group_id),
            epoch: f.epoch,
            key_id: f.key_id,
            iteration: f.iteration,
            chain_key: Zeroizing::new(*f.chain_key),
            signing_key,
        })
    }
}

impl fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderKey")
            .field("group", &self.group)
            .field("epoch", &self.epoch)
            .field("key_id", &self.key_id)
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SenderKeyDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderKeyDistribution")
            .field("group", &self.group)
            .field("epoch", &self.epoch)
            .field("key_id", &self.key_id)
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for SenderKey {}
impl ZeroizeOnDrop for SenderKeyDistribution {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(key: &SenderKey, dist: &SenderKeyDistribution) {
    use crate::hygiene::zod;
    // Group, epoch, key id and iteration are in every message header.
    let SenderKey {
        group: _,
        epoch: _,
        key_id: _,
        iteration: _,
        chain_key,
        signing,
    } = key;
    zod(chain_key);
    zod(signing);
    // The signing key's public half is public.
    let SenderKeyDistribution {
        group: _,
        epoch: _,
        key_id: _,
        iteration: _,
        chain_key,
        signing_key: _,
    } = dist;
    zod(chain_key);
}
