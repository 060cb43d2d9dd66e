//! The ratchet state and its two operations.

use std::collections::VecDeque;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::Bounds;
use super::keys::{ChainKey, Followed, HeaderKey, MessageKey, RemoteChainKey, RootKey};
use super::skipped::SkippedKeys;
use crate::crypto::dh;
use crate::error::{Error, MisuseError, ProtocolError};
use crate::keys::X25519PublicKey;
use crate::message::MessageRef;
use crate::wire::{Body, MAX_PLAINTEXT_LEN, MessageFrame, RECEIVER_HINT_LEN, unpadded_len};

/// Our current ratchet key pair.
pub(crate) struct OurRatchetKey {
    secret: StaticSecret,
    public: X25519PublicKey,
}

impl OurRatchetKey {
    pub(crate) fn from_secret(secret: StaticSecret) -> Self {
        let public = X25519PublicKey::from_secret(&secret);
        OurRatchetKey { secret, public }
    }

    /// A key pair as a session state of revision 2 stores it, the public
    /// key next to the private one (PROTOCOL.md §4.4): not recomputed, as
    /// a mismatched pair behaves as a wrong private key would (the peer's
    /// replies fail to decrypt), which no check on a record can detect.
    pub(crate) fn from_stored(secret: StaticSecret, public: X25519PublicKey) -> Self {
        OurRatchetKey { secret, public }
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    pub(crate) fn public(&self) -> &X25519PublicKey {
        &self.public
    }

    /// The private key's bytes, for the session state.
    pub(super) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
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
    pub(super) ratchet_key: X25519PublicKey,
    /// Position in the order chains were created; orders the skipped store.
    pub(super) seq: u32,
    pub(super) chain: RemoteChainKey,
    /// Indices below this that were skipped had their keys discarded.
    pub(super) expired_below: u32,
    /// What this chain's message headers are tagged with.
    pub(super) header_key: HeaderKey,
}

/// Our sending chain: its key and index, its header key, and the receiver
/// hint its messages carry (the first bytes of the peer's ratchet key it
/// was derived with).
pub(crate) struct SendingChain {
    pub(super) chain: ChainKey,
    pub(super) header_key: HeaderKey,
    pub(super) receiver_hint: [u8; RECEIVER_HINT_LEN],
}

/// Our side of the ratchet: what our next message is sent from. Each
/// variant holds exactly what that state has, so no combination of "has a
/// ratchet key" and "has a sending chain" that cannot happen can be built.
pub(crate) enum OurSide {
    /// We send on `chain`, under our ratchet key `ours`. The initiator
    /// starts here, with its base key and the handshake's chain.
    Sending {
        ours: OurRatchetKey,
        chain: SendingChain,
    },
    /// The peer sent under a new ratchet key since we last sent: our next
    /// message starts a new sending chain under a new key of ours. Until
    /// then `ours` is the key the peer's next new ratchet key meets.
    PeerStepped { ours: OurRatchetKey },
    /// A responder that has not sent yet: no ratchet key of its own, so the
    /// peer cannot have stepped either; it receives on the handshake's
    /// chain only.
    ResponderFresh,
}

impl OurSide {
    /// Our ratchet key, if we have one.
    pub(super) fn ours(&self) -> Option<&OurRatchetKey> {
        match self {
            OurSide::Sending { ours, .. } | OurSide::PeerStepped { ours } => Some(ours),
            OurSide::ResponderFresh => None,
        }
    }
}

/// The Double Ratchet.
pub(crate) struct DoubleRatchet {
    pub(super) root: RootKey,
    /// The header key of the next chain: the one the peer's next new
    /// ratchet key starts, or (after the peer stepped) our next sending
    /// chain's.
    pub(super) next_header_key: HeaderKey,
    pub(super) side: OurSide,
    pub(super) previous_sending_length: u32,
    /// Oldest first; the last is the current one.
    pub(super) receiving: VecDeque<ReceivingChain>,
    pub(super) next_chain_seq: u32,
    pub(super) skipped: SkippedKeys,
    pub(super) bounds: Bounds,
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
        /// The header key of the chain after the new one.
        next_header_key: HeaderKey,
        /// The current chain, followed up to the peer's previous length.
        previous: Option<Followed>,
        ratchet_key: X25519PublicKey,
        followed: Followed,
    },
}

impl DoubleRatchet {
    /// The initiator's ratchet: it sends first, on the handshake's chain,
    /// with its base key as its first ratchet key.
    /// `header_key` is its first chain's, `next_header_key` the one of the
    /// responder's first chain.
    pub(crate) fn initiator(
        root: RootKey,
        chain: ChainKey,
        header_key: HeaderKey,
        next_header_key: HeaderKey,
        base: OurRatchetKey,
        bounds: Bounds,
    ) -> Self {
        DoubleRatchet {
            root,
            next_header_key,
            side: OurSide::Sending {
                ours: base,
                chain: SendingChain {
                    chain,
                    header_key,
                    // No ratchet key of the responder's was used.
                    receiver_hint: [0; RECEIVER_HINT_LEN],
                },
            },
            previous_sending_length: 0,
            receiving: VecDeque::new(),
            next_chain_seq: 0,
            skipped: SkippedKeys::default(),
            bounds,
        }
    }

    /// The responder's ratchet: it receives first, on the handshake's chain,
    /// keyed by the initiator's base key.
    /// `header_key` is the initiator's first chain's, `next_header_key`
    /// the one of our own first sending chain.
    pub(crate) fn responder(
        root: RootKey,
        chain: RemoteChainKey,
        header_key: HeaderKey,
        next_header_key: HeaderKey,
        base_key: X25519PublicKey,
        bounds: Bounds,
    ) -> Self {
        let mut receiving = VecDeque::with_capacity(1);
        receiving.push_back(ReceivingChain {
            ratchet_key: base_key,
            seq: 0,
            chain,
            expired_below: 0,
            header_key,
        });
        DoubleRatchet {
            root,
            next_header_key,
            side: OurSide::ResponderFresh,
            previous_sending_length: 0,
            receiving,
            next_chain_seq: 1,
            skipped: SkippedKeys::default(),
            bounds,
        }
    }

    /// How many receiving chains are kept (the current one included).
    pub(crate) fn receiving_chains(&self) -> usize {
        self.receiving.len()
    }

    /// The peer's ratchet keys of the receiving chains kept, oldest first:
    /// a `Message` under any other key can only start a new chain.
    pub(crate) fn receiving_keys(&self) -> impl Iterator<Item = &X25519PublicKey> {
        self.receiving.iter().map(|c| &c.ratchet_key)
    }

    /// Our current ratchet public key, the one a new chain of the peer's
    /// is derived with (its messages' receiver hint starts it); `None` for
    /// a responder that has not sent, which accepts no new chain.
    pub(crate) fn our_ratchet_key(&self) -> Option<&X25519PublicKey> {
        self.side.ours().map(OurRatchetKey::public)
    }

    /// How many skipped message keys are stored.
    pub(crate) fn stored_skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Encrypts `body` (a plaintext and its padded length, PROTOCOL.md
    /// §7.6) into a complete `Message`, appended to `out`.
    /// Starts a new sending chain first when the peer has ratcheted. On
    /// error, `out` and the ratchet are as they were.
    ///
    /// # Errors
    /// [`ProtocolError::ChainExhausted`] after 2³² − 1 messages on one
    /// chain; [`ProtocolError::UnexpectedRatchetKey`] with no chain to
    /// start one from (a corrupted state); the errors of `dh::agree`; and
    /// [`MisuseError::PlaintextTooLong`] if the AEAD refused to seal, which
    /// it cannot for a plaintext within `MAX_PLAINTEXT_LEN` (see `seal`).
    pub(crate) fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session_ad: &[u8; 32],
        body: Body<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if let OurSide::Sending { ours, chain } = &mut self.side {
            let next = encrypt_message(
                out,
                ours,
                &chain.chain,
                &chain.header_key,
                &chain.receiver_hint,
                self.previous_sending_length,
                session_ad,
                body,
            )?;
            chain.chain = next;
            return Ok(());
        }
        let (ours, chain, root, next_header_key, receiver_hint) = self.next_sending_chain(rng)?;
        // The new chain's header key is the next header key we hold.
        let next = encrypt_message(
            out,
            &ours,
            &chain,
            &self.next_header_key,
            &receiver_hint,
            self.previous_sending_length,
            session_ad,
            body,
        )?;
        self.root = root;
        let header_key = core::mem::replace(&mut self.next_header_key, next_header_key);
        self.side = OurSide::Sending {
            ours,
            chain: SendingChain {
                chain: next,
                header_key,
                receiver_hint,
            },
        };
        Ok(())
    }

    /// A new ratchet key and the sending chain it starts with the peer's
    /// current ratchet key; the header key of the chain after it; the
    /// receiver hint of the peer's key.
    #[allow(clippy::type_complexity)]
    fn next_sending_chain<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<
        (
            OurRatchetKey,
            ChainKey,
            RootKey,
            HeaderKey,
            [u8; RECEIVER_HINT_LEN],
        ),
        Error,
    > {
        let theirs = self
            .receiving
            .back()
            .ok_or(ProtocolError::UnexpectedRatchetKey)?;
        let ours = OurRatchetKey::from_secret(StaticSecret::random_from_rng(rng));
        let shared = dh::agree(&ours.secret, theirs.ratchet_key.as_bytes())?;
        let (root, chain, next_header_key) = self.root.step(&shared);
        Ok((
            ours,
            ChainKey::new(chain, 0),
            root,
            next_header_key,
            receiver_hint(&theirs.ratchet_key),
        ))
    }

    /// Decrypts a message into a new buffer; on any error the state is
    /// unchanged.
    pub(crate) fn decrypt(
        &mut self,
        session_ad: &[u8; 32],
        message: &MessageRef<'_>,
    ) -> Result<Vec<u8>, Error> {
        let ad = ad(session_ad, &message.header());
        let (commit, key) = self.plan(session_ad, message)?;
        let (body, tag) = message.body_and_tag();
        let mut plaintext = vec![0u8; body.len()];
        key.decrypt(&ad, body, &tag, &mut plaintext)
            .map_err(|_| Error::DecryptionFailed)?;
        // The padding is checked before anything is committed: a bad one
        // leaves the session as it was (PROTOCOL.md §7.4 step 5).
        let Some(len) = unpadded_len(&plaintext) else {
            zeroize::Zeroize::zeroize(&mut plaintext);
            return Err(ProtocolError::InvalidPadding.into());
        };
        plaintext.truncate(len);
        self.apply(commit);
        Ok(plaintext)
    }

    /// Works out which key decrypts `message` and what would change.
    ///
    /// First of all, before any chain work, DH or allocation, the header
    /// tag is checked under the header key of the chain the message names
    /// (or, for a new ratchet key, the next header key): a message from
    /// anyone without the session's current secrets fails here, as
    /// [`Error::DecryptionFailed`], whatever its counters say.
    fn plan(
        &self,
        session_ad: &[u8; 32],
        message: &MessageRef<'_>,
    ) -> Result<(Commit, MessageKey), Error> {
        let known = self
            .receiving
            .iter()
            .position(|c| *message.ratchet_key() == c.ratchet_key);
        let header_key = match known.and_then(|p| self.receiving.get(p)) {
            Some(chain) => &chain.header_key,
            None => &self.next_header_key,
        };
        if !header_key.verifies(session_ad, &message.tagged(), message.header_tag()) {
            return Err(Error::DecryptionFailed);
        }
        let index = message.index();
        let previous_length = message.previous_length();
        if index == u32::MAX {
            return Err(ProtocolError::ChainExhausted.into());
        }
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
                .follow(index, self.bounds.max_skipped_keys(), true);
            let key = target_key(&followed)?;
            return Ok((Commit::Forward { position, followed }, key));
        }

        // A new ratchet key from the peer. Chain sequence numbers order the
        // skipped-key store, so they must never wrap.
        if self.next_chain_seq == u32::MAX {
            return Err(ProtocolError::ChainExhausted.into());
        }
        let ours = self
            .side
            .ours()
            .ok_or(ProtocolError::UnexpectedRatchetKey)?;
        // The new key is checked here, once per chain, and only now that
        // the header authenticated it: same-chain messages and forgeries
        // never pay for the subgroup check (PROTOCOL.md §7.4 step 4.3).
        let theirs = message.ratchet_key().check()?;
        self.check_jump(0, index)?;
        let keep_new = index.min(self.bounds.max_skipped_keys());
        let previous = match self.receiving.back() {
            Some(current) if previous_length > current.chain.next_index() => {
                self.check_jump(current.chain.next_index(), previous_length)?;
                let room = self.bounds.max_skipped_keys() - keep_new;
                Some(current.chain.follow(previous_length, room, false))
            }
            _ => None,
        };
        let shared = dh::agree(&ours.secret, theirs.as_bytes())?;
        let (root, chain_key, next_header_key) = self.root.step(&shared);
        let followed = RemoteChainKey::new(chain_key, 0).follow(index, keep_new, true);
        let key = target_key(&followed)?;
        Ok((
            Commit::NewChain {
                root,
                next_header_key,
                previous,
                ratchet_key: theirs,
                followed,
            },
            key,
        ))
    }

    fn check_jump(&self, from: u32, to: u32) -> Result<(), ProtocolError> {
        let jump = u64::from(to.saturating_sub(from));
        if jump > u64::from(self.bounds.max_forward_jump()) {
            return Err(ProtocolError::TooFarAhead {
                max: self.bounds.max_forward_jump(),
                found: jump,
            });
        }
        Ok(())
    }

    fn apply(&mut self, commit: Commit) {
        let max = self.bounds.max_skipped_keys() as usize;
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
                next_header_key,
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
                // The new chain's headers were checked with the next
                // header key; the step yielded the one after.
                let header_key = core::mem::replace(&mut self.next_header_key, next_header_key);
                self.receiving.push_back(ReceivingChain {
                    ratchet_key,
                    seq,
                    chain: followed.chain,
                    expired_below: followed.passed_below,
                    header_key,
                });
                let evicted = self.skipped.extend(seq, followed.kept, max);
                self.note_evictions(&evicted);
                while self.receiving.len() > self.bounds.max_old_chains() as usize + 1 {
                    self.receiving.pop_front();
                }
                if let Some(oldest) = self.receiving.front() {
                    self.skipped.purge_below(oldest.seq);
                }
                self.root = root;
                // Our next message starts a new chain; this one ended here.
                self.side = match core::mem::replace(&mut self.side, OurSide::ResponderFresh) {
                    OurSide::Sending { ours, chain } => {
                        self.previous_sending_length = chain.chain.index();
                        OurSide::PeerStepped { ours }
                    }
                    unchanged @ (OurSide::PeerStepped { .. } | OurSide::ResponderFresh) => {
                        unchanged
                    }
                };
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

#[cfg(test)]
impl SendingChain {
    /// The chain key, for the vector generator.
    pub(crate) fn chain(&self) -> &ChainKey {
        &self.chain
    }

    /// The header key, for the vector generator.
    pub(crate) fn header_key(&self) -> &HeaderKey {
        &self.header_key
    }
}

#[cfg(test)]
impl DoubleRatchet {
    /// The next header key, for the vector generator.
    pub(crate) fn next_header_key(&self) -> &HeaderKey {
        &self.next_header_key
    }

    /// Our side, for the vector generator's cross-checks.
    pub(crate) fn side(&self) -> &OurSide {
        &self.side
    }

    /// The root key, for the vector generator.
    pub(crate) fn root(&self) -> &RootKey {
        &self.root
    }

    /// The peer's current ratchet key, for the vector generator.
    pub(crate) fn current_peer_key(&self) -> Option<&X25519PublicKey> {
        self.receiving.back().map(|c| &c.ratchet_key)
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

/// Encrypts `plaintext` as the next message on `chain` into `out`, and returns
/// the chain one step on. On error `out` is as it was.
#[allow(clippy::too_many_arguments)]
fn encrypt_message(
    out: &mut Vec<u8>,
    ours: &OurRatchetKey,
    chain: &ChainKey,
    header_key: &HeaderKey,
    receiver_hint: &[u8; RECEIVER_HINT_LEN],
    previous_length: u32,
    session_ad: &[u8; 32],
    body: Body<'_>,
) -> Result<ChainKey, Error> {
    let (index, key, next) = chain.peek()?;
    let sealed_len = body.len();
    let sealed = MessageFrame::encrypt_into(
        out,
        ours.public.as_bytes(),
        receiver_hint,
        previous_length,
        index,
        body,
        |tagged| header_key.tag(session_ad, tagged),
        |header, padded| key.encrypt(&ad(session_ad, header), padded),
    );
    if sealed.is_err() {
        // Not reachable (`encrypt_into` has already restored `out`): the
        // AEAD refuses only a plaintext beyond its own limit (far above
        // `MAX_PADDED_LEN`, which `Session::encrypt` keeps to). Were it
        // reached, it would be a plaintext the AEAD could not take: report
        // that, not a failed decryption.
        return Err(MisuseError::PlaintextTooLong {
            max: MAX_PLAINTEXT_LEN,
            found: sealed_len,
        }
        .into());
    }
    Ok(next)
}

/// The receiver hint of messages on a chain derived with the receiver's
/// ratchet key `key`: its first bytes.
pub(crate) fn receiver_hint(key: &X25519PublicKey) -> [u8; RECEIVER_HINT_LEN] {
    let mut out = [0u8; RECEIVER_HINT_LEN];
    if let Some(prefix) = key.as_bytes().get(..RECEIVER_HINT_LEN) {
        out.copy_from_slice(prefix);
    }
    out
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
impl ZeroizeOnDrop for SendingChain {}
impl ZeroizeOnDrop for OurSide {}
impl ZeroizeOnDrop for DoubleRatchet {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(
    ours: &OurRatchetKey,
    sending: &SendingChain,
    chain: &ReceivingChain,
    side: &OurSide,
    ratchet: &DoubleRatchet,
) {
    use crate::hygiene::{zod, zod_all};
    // The public key is public.
    let OurRatchetKey { secret, public: _ } = ours;
    zod(secret);
    // The peer's ratchet key and the counters are public (message headers).
    // The receiver hint is public (message headers).
    let SendingChain {
        chain: sending_chain,
        header_key: sending_header_key,
        receiver_hint: _,
    } = sending;
    zod(sending_chain);
    zod(sending_header_key);
    let ReceivingChain {
        ratchet_key: _,
        seq: _,
        chain,
        expired_below: _,
        header_key,
    } = chain;
    zod(chain);
    zod(header_key);
    match side {
        OurSide::Sending { ours, chain } => {
            zod(ours);
            zod(chain);
        }
        OurSide::PeerStepped { ours } => zod(ours),
        OurSide::ResponderFresh => {}
    }
    let DoubleRatchet {
        root,
        next_header_key,
        side,
        previous_sending_length: _,
        receiving,
        next_chain_seq: _,
        skipped,
        bounds: _,
    } = ratchet;
    zod(root);
    zod(next_header_key);
    zod(side);
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
            next_header_key,
            previous,
            ratchet_key: _,
            followed,
        } => {
            zod(root);
            zod(next_header_key);
            zod(previous);
            zod(followed);
        }
    }
}
