//! The ratchet state and its two operations.

use std::collections::VecDeque;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::ZeroizeOnDrop;

use super::keys::{ChainKey, Followed, MessageKey, RemoteChainKey, RootKey};
use super::skipped::SkippedKeys;
use crate::crypto::dh;
use crate::error::{Error, MisuseError, ProtocolError};
use crate::keys::X25519PublicKey;
use crate::message::MessageRef;
use crate::wire::{MAX_PLAINTEXT_LEN, MessageFrame};

/// The bounds a ratchet enforces (validated by `SessionConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) max_forward_jump: u32,
    pub(crate) max_skipped_keys: u32,
    pub(crate) max_old_chains: u32,
}

/// Our current ratchet key pair.
pub(crate) struct OurRatchetKey {
    pub(crate) secret: StaticSecret,
    pub(crate) public: X25519PublicKey,
}

impl OurRatchetKey {
    pub(crate) fn from_secret(secret: StaticSecret) -> Self {
        let public = X25519PublicKey::from_secret(&secret);
        OurRatchetKey { secret, public }
    }
}

impl core::fmt::Debug for OurRatchetKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OurRatchetKey")
            .field("public", &crate::keys::Hex(self.public.as_bytes()))
            .finish_non_exhaustive()
    }
}

/// A chain we receive on, identified by the peer's ratchet key.
pub(crate) struct ReceivingChain {
    pub(crate) ratchet_key: X25519PublicKey,
    /// Position in the order chains were created; orders the skipped store.
    pub(crate) seq: u32,
    pub(crate) chain: RemoteChainKey,
    /// Indices below this that were skipped had their keys discarded.
    pub(crate) expired_below: u32,
}

/// The Double Ratchet.
pub(crate) struct DoubleRatchet {
    pub(crate) root: RootKey,
    /// `None` only for a responder that has not sent yet.
    pub(crate) ours: Option<OurRatchetKey>,
    /// `None` when the next message must start a new sending chain.
    pub(crate) sending: Option<ChainKey>,
    pub(crate) previous_sending_length: u32,
    /// Oldest first; the last is the current one.
    pub(crate) receiving: VecDeque<ReceivingChain>,
    pub(crate) next_chain_seq: u32,
    pub(crate) skipped: SkippedKeys,
    pub(crate) bounds: Bounds,
}

/// Everything a successful decryption changes, computed before anything is.
enum Commit {
    /// A key from the skipped store was used.
    Skipped { seq: u32, index: u32 },
    /// An existing chain moved forward.
    Forward { position: usize, followed: Followed },
    /// The peer's new ratchet key started a new chain.
    NewChain {
        root: RootKey,
        /// The current chain, followed up to the peer's previous length.
        previous: Option<Followed>,
        ratchet_key: X25519PublicKey,
        followed: Followed,
    },
}

impl DoubleRatchet {
    /// The initiator's ratchet: it sends first, on the handshake's chain,
    /// with its base key as its first ratchet key.
    pub(crate) fn initiator(
        root: RootKey,
        chain: ChainKey,
        base: OurRatchetKey,
        bounds: Bounds,
    ) -> Self {
        DoubleRatchet {
            root,
            ours: Some(base),
            sending: Some(chain),
            previous_sending_length: 0,
            receiving: VecDeque::new(),
            next_chain_seq: 0,
            skipped: SkippedKeys::default(),
            bounds,
        }
    }

    /// The responder's ratchet: it receives first, on the handshake's chain,
    /// keyed by the initiator's base key.
    pub(crate) fn responder(
        root: RootKey,
        chain: RemoteChainKey,
        base_key: X25519PublicKey,
        bounds: Bounds,
    ) -> Self {
        let mut receiving = VecDeque::with_capacity(1);
        receiving.push_back(ReceivingChain {
            ratchet_key: base_key,
            seq: 0,
            chain,
            expired_below: 0,
        });
        DoubleRatchet {
            root,
            ours: None,
            sending: None,
            previous_sending_length: 0,
            receiving,
            next_chain_seq: 1,
            skipped: SkippedKeys::default(),
            bounds,
        }
    }

    /// Encrypts `plaintext` into a complete `Message`, appended to `out`.
    /// Starts a new sending chain first when the peer has ratcheted.
    pub(crate) fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session_ad: &[u8; 32],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let fresh = match &self.sending {
            Some(_) => None,
            None => Some(self.next_sending_chain(rng)?),
        };
        let (public, chain) = match (&fresh, &self.sending, &self.ours) {
            (Some((ours, chain, _)), _, _) => (ours.public.as_bytes(), chain),
            (None, Some(chain), Some(ours)) => (ours.public.as_bytes(), chain),
            _ => return Err(ProtocolError::UnexpectedRatchetKey.into()),
        };
        let (index, key, next) = chain.peek()?;
        let start = out.len();
        let sealed = MessageFrame::seal_into(
            out,
            public,
            self.previous_sending_length,
            index,
            plaintext,
            |header, plaintext, body| key.seal(&ad(session_ad, header), plaintext, body),
        );
        if sealed.is_err() {
            out.truncate(start);
            // Not reachable: the AEAD refuses only an output of another
            // length than the plaintext (`seal_into` sizes it) or a
            // plaintext beyond its own limit (far above `MAX_PLAINTEXT_LEN`,
            // which `Session::encrypt` enforces). Were it reached, it would
            // be a plaintext the AEAD could not take: report that, not a
            // failed decryption.
            return Err(MisuseError::PlaintextTooLong {
                max: MAX_PLAINTEXT_LEN,
                found: plaintext.len(),
            }
            .into());
        }
        if let Some((ours, _, root)) = fresh {
            self.ours = Some(ours);
            self.root = root;
        }
        self.sending = Some(next);
        Ok(())
    }

    /// A new ratchet key and the sending chain it starts with the peer's
    /// current ratchet key.
    fn next_sending_chain<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<(OurRatchetKey, ChainKey, RootKey), Error> {
        let theirs = self
            .receiving
            .back()
            .ok_or(ProtocolError::UnexpectedRatchetKey)?;
        let ours = OurRatchetKey::from_secret(StaticSecret::random_from_rng(rng));
        let shared = dh::agree(&ours.secret, theirs.ratchet_key.as_bytes())?;
        let (root, chain) = self.root.step(&shared);
        Ok((ours, ChainKey::new(chain, 0), root))
    }

    /// Decrypts a message into a new buffer; on any error the state is
    /// unchanged.
    pub(crate) fn decrypt(
        &mut self,
        session_ad: &[u8; 32],
        message: &MessageRef<'_>,
    ) -> Result<Vec<u8>, Error> {
        let ad = ad(session_ad, &message.header());
        let (commit, key) = self.plan(message)?;
        let (body, tag) = message.body_and_tag();
        let mut plaintext = vec![0u8; body.len()];
        key.open(&ad, body, &tag, &mut plaintext)
            .map_err(|_| Error::DecryptionFailed)?;
        self.apply(commit);
        Ok(plaintext)
    }

    /// Works out which key decrypts `message` and what would change.
    fn plan(&self, message: &MessageRef<'_>) -> Result<(Commit, MessageKey), Error> {
        let index = message.index();
        let previous_length = message.previous_length();
        if index == u32::MAX {
            return Err(ProtocolError::ChainExhausted.into());
        }
        let known = self
            .receiving
            .iter()
            .position(|c| c.ratchet_key == *message.ratchet_key());
        if let Some(position) = known {
            let Some(chain) = self.receiving.get(position) else {
                return Err(ProtocolError::UnexpectedRatchetKey.into());
            };
            let next = chain.chain.next_index();
            if index < next {
                return match self.skipped.get(chain.seq, index) {
                    Some(seed) => Ok((
                        Commit::Skipped {
                            seq: chain.seq,
                            index,
                        },
                        seed.expand(),
                    )),
                    None if index < chain.expired_below => {
                        Err(ProtocolError::MessageKeyExpired { index }.into())
                    }
                    None => Err(ProtocolError::Duplicate { index }.into()),
                };
            }
            // Only the current chain moves forward. An old chain ended
            // where the peer's next chain said it did (its previous length),
            // so an index past that end was never sent on it.
            if position + 1 != self.receiving.len() {
                return Err(Error::DecryptionFailed);
            }
            self.check_jump(next, index)?;
            let followed = chain
                .chain
                .follow(index, self.bounds.max_skipped_keys, true);
            let key = target_key(&followed)?;
            return Ok((Commit::Forward { position, followed }, key));
        }

        // A new ratchet key from the peer. Chain sequence numbers order the
        // skipped-key store, so they must never wrap.
        if self.next_chain_seq == u32::MAX {
            return Err(ProtocolError::ChainExhausted.into());
        }
        let ours = self
            .ours
            .as_ref()
            .ok_or(ProtocolError::UnexpectedRatchetKey)?;
        self.check_jump(0, index)?;
        let keep_new = index.min(self.bounds.max_skipped_keys);
        let previous = match self.receiving.back() {
            Some(current) if previous_length > current.chain.next_index() => {
                self.check_jump(current.chain.next_index(), previous_length)?;
                let room = self.bounds.max_skipped_keys - keep_new;
                Some(current.chain.follow(previous_length, room, false))
            }
            _ => None,
        };
        let shared = dh::agree(&ours.secret, message.ratchet_key().as_bytes())?;
        let (root, chain_key) = self.root.step(&shared);
        let followed = RemoteChainKey::new(chain_key, 0).follow(index, keep_new, true);
        let key = target_key(&followed)?;
        Ok((
            Commit::NewChain {
                root,
                previous,
                ratchet_key: *message.ratchet_key(),
                followed,
            },
            key,
        ))
    }

    fn check_jump(&self, from: u32, to: u32) -> Result<(), ProtocolError> {
        let jump = u64::from(to.saturating_sub(from));
        if jump > u64::from(self.bounds.max_forward_jump) {
            return Err(ProtocolError::TooFarAhead {
                max: self.bounds.max_forward_jump,
                found: jump,
            });
        }
        Ok(())
    }

    fn apply(&mut self, commit: Commit) {
        let max = self.bounds.max_skipped_keys as usize;
        match commit {
            Commit::Skipped { seq, index } => self.skipped.remove(seq, index),
            Commit::Forward { position, followed } => {
                let Some(chain) = self.receiving.get_mut(position) else {
                    return;
                };
                let seq = chain.seq;
                advance(chain, followed.chain, followed.passed_below);
                let evicted = self.skipped.extend(seq, followed.kept, max);
                self.note_evictions(&evicted);
            }
            Commit::NewChain {
                root,
                previous,
                ratchet_key,
                followed,
            } => {
                if let (Some(prev), Some(current)) = (previous, self.receiving.back_mut()) {
                    let seq = current.seq;
                    advance(current, prev.chain, prev.passed_below);
                    let evicted = self.skipped.extend(seq, prev.kept, max);
                    self.note_evictions(&evicted);
                }
                let seq = self.next_chain_seq;
                self.next_chain_seq = seq.saturating_add(1);
                self.receiving.push_back(ReceivingChain {
                    ratchet_key,
                    seq,
                    chain: followed.chain,
                    expired_below: followed.passed_below,
                });
                let evicted = self.skipped.extend(seq, followed.kept, max);
                self.note_evictions(&evicted);
                while self.receiving.len() > self.bounds.max_old_chains as usize + 1 {
                    self.receiving.pop_front();
                }
                if let Some(oldest) = self.receiving.front() {
                    self.skipped.purge_below(oldest.seq);
                }
                self.root = root;
                if let Some(sending) = self.sending.take() {
                    self.previous_sending_length = sending.index();
                }
            }
        }
    }

    fn note_evictions(&mut self, evicted: &[(u32, u32)]) {
        for &(seq, highest) in evicted {
            if let Some(c) = self.receiving.iter_mut().find(|c| c.seq == seq) {
                c.expired_below = c.expired_below.max(highest.saturating_add(1));
            }
        }
    }
}

/// Moves a chain forward; skipped indices below `passed_below` had no key kept.
fn advance(chain: &mut ReceivingChain, to: RemoteChainKey, passed_below: u32) {
    chain.expired_below = chain.expired_below.max(passed_below);
    chain.chain = to;
}

fn target_key(followed: &Followed) -> Result<MessageKey, Error> {
    followed
        .target
        .as_ref()
        .map(|s| s.expand())
        .ok_or(Error::DecryptionFailed)
}

/// The AEAD associated data: the 32-byte session AD, then the header.
fn ad(
    session_ad: &[u8; 32],
    header: &[u8; MessageFrame::HEADER_LEN],
) -> [u8; 32 + MessageFrame::HEADER_LEN] {
    let mut out = [0u8; 32 + MessageFrame::HEADER_LEN];
    let (a, b) = out.split_at_mut(32);
    a.copy_from_slice(session_ad);
    b.copy_from_slice(header);
    out
}

impl ZeroizeOnDrop for OurRatchetKey {}
impl ZeroizeOnDrop for ReceivingChain {}
impl ZeroizeOnDrop for DoubleRatchet {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(ours: &OurRatchetKey, chain: &ReceivingChain, ratchet: &DoubleRatchet) {
    use crate::hygiene::{zod, zod_all};
    // The public key is public.
    let OurRatchetKey { secret, public: _ } = ours;
    zod(secret);
    // The peer's ratchet key and the counters are public (message headers).
    let ReceivingChain {
        ratchet_key: _,
        seq: _,
        chain,
        expired_below: _,
    } = chain;
    zod(chain);
    let DoubleRatchet {
        root,
        ours,
        sending,
        previous_sending_length: _,
        receiving,
        next_chain_seq: _,
        skipped,
        bounds: _,
    } = ratchet;
    zod(root);
    zod(ours);
    zod(sending);
    zod_all(receiving);
    zod(skipped);
}

/// A pending commit holds secrets too (it is dropped unapplied when the
/// message does not authenticate).
#[allow(dead_code)]
fn zeroize_audit_commit(commit: &Commit) {
    use crate::hygiene::zod;
    match commit {
        Commit::Skipped { seq: _, index: _ } => {}
        Commit::Forward {
            position: _,
            followed,
        } => zod(followed),
        Commit::NewChain {
            root,
            previous,
            ratchet_key: _,
            followed,
        } => {
            zod(root);
            zod(previous);
            zod(followed);
        }
    }
}
