//! The ratchet's secrets, each its own type: the root key, our sending
//! chain key, a receiving chain key, a message-key seed and a message key.
//! None is `Copy`, none prints, all zeroize on drop.

use core::fmt;

use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::crypto::dh::SharedSecret;
use crate::crypto::{aead, kdf};
use crate::error::ProtocolError;
use subtle::ConstantTimeEq;

use crate::wire::{HEADER_TAG_LEN, TAG_LEN, TAGGED_LEN};

/// The root key, stepped with every new ratchet key.
pub(crate) struct RootKey(Zeroizing<[u8; 32]>);

impl RootKey {
    pub(crate) fn new(key: Zeroizing<[u8; 32]>) -> Self {
        RootKey(key)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// KDF_RK: the next root key, the new chain's key, and the header key
    /// of the chain after it (the next one the peer of the new chain's
    /// sender starts).
    pub(crate) fn step(
        &self,
        dh_output: &SharedSecret,
    ) -> (RootKey, Zeroizing<[u8; 32]>, HeaderKey) {
        let (root, chain, next_header) = kdf::root_step(&self.0, dh_output);
        (RootKey(root), chain, HeaderKey(next_header))
    }
}

/// A chain's header key: what a `Message`'s header tag is computed with,
/// so that a receiver can tell a header from the peer from a forgery
/// before it does any chain work.
pub(crate) struct HeaderKey(Zeroizing<[u8; 32]>);

impl HeaderKey {
    pub(crate) fn new(key: Zeroizing<[u8; 32]>) -> Self {
        HeaderKey(key)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The header tag of the header bytes `tagged` in a session with
    /// associated data `session_ad`.
    pub(crate) fn tag(
        &self,
        session_ad: &[u8; 32],
        tagged: &[u8; TAGGED_LEN],
    ) -> [u8; HEADER_TAG_LEN] {
        kdf::header_tag(&self.0, session_ad, tagged)
    }

    /// Whether `tag` is the header tag of `tagged`, compared in constant
    /// time. One HMAC-SHA256, no allocation.
    pub(crate) fn verifies(
        &self,
        session_ad: &[u8; 32],
        tagged: &[u8; TAGGED_LEN],
        tag: &[u8; HEADER_TAG_LEN],
    ) -> bool {
        bool::from(self.tag(session_ad, tagged).ct_eq(tag))
    }
}

/// Our sending chain: the key for the next message and its index.
pub(crate) struct ChainKey {
    key: Zeroizing<[u8; 32]>,
    index: u32,
}

impl ChainKey {
    pub(crate) fn new(key: Zeroizing<[u8; 32]>, index: u32) -> Self {
        ChainKey { key, index }
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// The message key for the next index and the chain one step on,
    /// without changing `self`.
    pub(crate) fn peek(&self) -> Result<(u32, MessageKey, ChainKey), ProtocolError> {
        let next_index = self
            .index
            .checked_add(1)
            .ok_or(ProtocolError::ChainExhausted)?;
        let (seed, next) = kdf::chain_step(&self.key);
        let key = MessageKeySeed(seed).expand();
        Ok((self.index, key, ChainKey::new(next, next_index)))
    }
}

/// A receiving chain: the key for the next expected index.
pub(crate) struct RemoteChainKey {
    key: Zeroizing<[u8; 32]>,
    next_index: u32,
}

/// What following a receiving chain forward produced.
pub(crate) struct Followed {
    /// The chain positioned after the target.
    pub(super) chain: RemoteChainKey,
    /// Seeds of skipped indices that are kept, oldest first.
    pub(super) kept: Vec<(u32, MessageKeySeed)>,
    /// When some skipped indices were passed over without keeping their
    /// key, the index just above them; otherwise 0.
    pub(super) passed_below: u32,
    /// The message key at the target, when one was asked for.
    pub(super) target: Option<MessageKeySeed>,
}

impl RemoteChainKey {
    pub(crate) fn new(key: Zeroizing<[u8; 32]>, next_index: u32) -> Self {
        RemoteChainKey { key, next_index }
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    pub(crate) fn next_index(&self) -> u32 {
        self.next_index
    }

    /// Follows the chain from its next index up to `until` (exclusive),
    /// keeping the seeds of at most the last `keep` indices, then (when
    /// `with_target`) takes the message key at `until` too. Does not change
    /// `self`. The caller has checked `until >= self.next_index` and the
    /// jump bound; one HMAC per passed index, two per kept one.
    pub(crate) fn follow(&self, until: u32, keep: u32, with_target: bool) -> Followed {
        let kept_from = until.saturating_sub(keep).max(self.next_index);
        let mut kept = Vec::with_capacity((until - kept_from) as usize);
        // The chain key after the steps taken so far; `None` until the
        // first step, so the common case (the next message in order) does
        // not copy the current key first.
        let mut key: Option<Zeroizing<[u8; 32]>> = None;
        for index in self.next_index..until {
            let current = key.as_deref().unwrap_or(&self.key);
            if index >= kept_from {
                let (seed, next) = kdf::chain_step(current);
                kept.push((index, MessageKeySeed(seed)));
                key = Some(next);
            } else {
                key = Some(kdf::chain_advance(current));
            }
        }
        let (target, next_index) = if with_target {
            let (seed, next) = kdf::chain_step(key.as_deref().unwrap_or(&self.key));
            key = Some(next);
            (Some(MessageKeySeed(seed)), until.saturating_add(1))
        } else {
            (None, until)
        };
        let key = key.unwrap_or_else(|| Zeroizing::new(*self.key));
        Followed {
            chain: RemoteChainKey { key, next_index },
            kept,
            passed_below: if kept_from > self.next_index {
                kept_from
            } else {
                0
            },
            target,
        }
    }
}

/// A message-key seed: what the chain KDF yields, and what the skipped-key
/// store keeps (32 bytes instead of the expanded 44).
pub(crate) struct MessageKeySeed(Zeroizing<[u8; 32]>);

impl MessageKeySeed {
    pub(crate) fn new(seed: Zeroizing<[u8; 32]>) -> Self {
        MessageKeySeed(seed)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn expand(&self) -> MessageKey {
        MessageKey(kdf::message_key(&self.0))
    }

    /// The message key of a group chain's seed (PROTOCOL.md §16.3): the
    /// same expansion under the group label, so a group key never equals
    /// a pairwise one.
    pub(crate) fn expand_group(&self) -> MessageKey {
        MessageKey(kdf::group_message_key(&self.0))
    }
}

/// An AEAD key and nonce for exactly one message.
pub(crate) struct MessageKey(aead::AeadKey);

impl MessageKey {
    /// Seals `buffer` (a padded plaintext) in place.
    pub(crate) fn encrypt(&self, ad: &[u8], buffer: &mut [u8]) -> Result<[u8; TAG_LEN], ()> {
        aead::encrypt_in_place(&self.0, ad, buffer)
    }

    pub(crate) fn decrypt(
        &self,
        ad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> Result<(), ()> {
        aead::decrypt(&self.0, ad, ciphertext, tag, out)
    }
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}

redacted_debug!(
    RootKey,
    HeaderKey,
    ChainKey,
    RemoteChainKey,
    MessageKeySeed,
    MessageKey
);

impl ZeroizeOnDrop for RootKey {}
impl ZeroizeOnDrop for HeaderKey {}
impl ZeroizeOnDrop for ChainKey {}
impl ZeroizeOnDrop for RemoteChainKey {}
impl ZeroizeOnDrop for Followed {}
impl ZeroizeOnDrop for MessageKeySeed {}
impl ZeroizeOnDrop for MessageKey {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(
    root: &RootKey,
    header: &HeaderKey,
    chain: &ChainKey,
    remote: &RemoteChainKey,
    followed: &Followed,
    seed: &MessageKeySeed,
    message_key: &MessageKey,
) {
    use crate::hygiene::{zod, zod_all};
    let RootKey(key) = root;
    zod(key);
    let HeaderKey(key) = header;
    zod(key);
    let ChainKey { key, index: _ } = chain;
    zod(key);
    let RemoteChainKey { key, next_index: _ } = remote;
    zod(key);
    let Followed {
        chain,
        kept,
        passed_below: _,
        target,
    } = followed;
    zod(chain);
    zod_all(kept.iter().map(|(_index, seed)| seed));
    zod(target);
    let MessageKeySeed(key) = seed;
    zod(key);
    let MessageKey(key) = message_key;
    zod(key);
}
