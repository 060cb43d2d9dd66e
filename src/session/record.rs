//! Session persistence: `Session::to_bytes` and `Session::from_bytes`.

use std::collections::VecDeque;

use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::{PendingPreKey, Session, SessionConfig};
use crate::SecretBytes;
use crate::error::{DecodeError, Error, WireType};
use crate::keys::{IdentityKey, prekey_x25519};
use crate::message::HandshakeId;
use crate::ratchet::{
    Bounds, ChainKey, DoubleRatchet, MessageKeySeed, OurRatchetKey, ReceivingChain, RemoteChainKey,
    RootKey, SkippedKeys,
};
use crate::wire::{ChainFrame, PendingPreKeyFrame, RatchetKeyFrame, SessionFrame, SkippedFrame};

fn invalid(field: &'static str, found: u32) -> Error {
    DecodeError::InvalidField {
        wire_type: WireType::SessionRecord,
        field,
        found,
    }
    .into()
}

impl Session {
    /// Serializes the whole session state, secrets included, into a
    /// versioned record (layout in `docs/PROTOCOL.md`). The buffer zeroizes
    /// itself when dropped.
    ///
    /// # Security
    /// The record holds the session's secrets: store it encrypted at rest,
    /// and store it after every `encrypt` and `decrypt`, or a restart will
    /// roll the session back.
    pub fn to_bytes(&self) -> SecretBytes {
        let r = &self.ratchet;
        let frame = SessionFrame {
            suite: crate::SUITE_V1,
            initiator: self.initiator,
            local_identity: self.local_identity.to_bytes(),
            remote_identity: self.remote_identity.to_bytes(),
            session_ad: self.session_ad,
            base_key: *self.base_key.as_bytes(),
            handshake_id: *self.handshake_id.as_bytes(),
            root_key: Zeroizing::new(*r.root.bytes()),
            max_forward_jump: r.bounds.max_forward_jump,
            max_skipped_keys: r.bounds.max_skipped_keys,
            max_old_chains: r.bounds.max_old_chains,
            ratchet: r.ours.as_ref().map(|o| RatchetKeyFrame {
                secret: Zeroizing::new(o.secret.to_bytes()),
            }),
            sending: r
                .sending
                .as_ref()
                .map(|c| (Zeroizing::new(*c.bytes()), c.index())),
            previous_sending_length: r.previous_sending_length,
            next_chain_seq: r.next_chain_seq,
            chains: r
                .receiving
                .iter()
                .map(|c| ChainFrame {
                    ratchet_key: *c.ratchet_key.as_bytes(),
                    seq: c.seq,
                    chain_key: Zeroizing::new(*c.chain.bytes()),
                    next_index: c.chain.next_index(),
                    expired_below: c.expired_below,
                })
                .collect(),
            skipped: r
                .skipped
                .iter()
                .map(|(seq, index, seed)| SkippedFrame {
                    seq,
                    index,
                    seed: Zeroizing::new(*seed.0),
                })
                .collect(),
            pending: self.pending.as_ref().map(|p| PendingPreKeyFrame {
                prekeys: p.prekeys,
                kem_ciphertext: p.kem_ciphertext.clone(),
            }),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(
            400 + frame.chains.len() * 76 + frame.skipped.len() * 40,
        ));
        frame.encode(&mut out);
        SecretBytes::new(out)
    }

    /// Restores a session from [`Session::to_bytes`].
    ///
    /// Every field is checked — structure first, then the bounds, then every
    /// key, then the consistency of the chains, the skipped-key store and the
    /// role with each other — so a corrupted or forged record is an error,
    /// never a panic or a session that misbehaves later.
    ///
    /// # Errors
    /// [`Error::Decode`] for any malformed or inconsistent record;
    /// [`Error::Misuse`] if its bounds are outside the allowed ranges.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Session> {
        let f = SessionFrame::decode(bytes)?;
        let bounds = SessionConfig::check_bounds(Bounds {
            max_forward_jump: f.max_forward_jump,
            max_skipped_keys: f.max_skipped_keys,
            max_old_chains: f.max_old_chains,
        })?;
        let local_identity = IdentityKey::from_bytes(&f.local_identity)?;
        let remote_identity = IdentityKey::from_bytes(&f.remote_identity)?;
        let base_key = prekey_x25519(&f.base_key)?;
        let mut chain_keys = Vec::with_capacity(f.chains.len());
        for c in &f.chains {
            chain_keys.push(prekey_x25519(&c.ratchet_key)?);
        }

        if f.chains.len() > bounds.max_old_chains as usize + 1 {
            return Err(invalid("chain_count", f.chains.len() as u32));
        }
        let mut receiving = VecDeque::with_capacity(f.chains.len());
        let mut last_seq: Option<u32> = None;
        for (c, ratchet_key) in f.chains.into_iter().zip(chain_keys) {
            if last_seq.is_some_and(|s| s >= c.seq) || c.seq >= f.next_chain_seq {
                return Err(invalid("seq", c.seq));
            }
            if c.expired_below > c.next_index {
                return Err(invalid("expired_below", c.expired_below));
            }
            last_seq = Some(c.seq);
            receiving.push_back(ReceivingChain {
                ratchet_key,
                seq: c.seq,
                chain: RemoteChainKey::new(c.chain_key, c.next_index),
                expired_below: c.expired_below,
            });
        }

        if f.skipped.len() > bounds.max_skipped_keys as usize {
            return Err(invalid("skipped_count", f.skipped.len() as u32));
        }
        let mut items = Vec::with_capacity(f.skipped.len());
        for s in f.skipped {
            let Some(chain) = receiving.iter().find(|c| c.seq == s.seq) else {
                return Err(invalid("skipped_seq", s.seq));
            };
            if s.index >= chain.chain.next_index() || s.index < chain.expired_below {
                return Err(invalid("skipped_index", s.index));
            }
            items.push((s.seq, s.index, MessageKeySeed(s.seed)));
        }
        let skipped = SkippedKeys::from_sorted(items).ok_or_else(|| invalid("skipped_order", 0))?;

        let ours = f
            .ratchet
            .map(|r| OurRatchetKey::from_secret(StaticSecret::from(*r.secret)));
        let sending = f.sending.map(|(key, index)| ChainKey::new(key, index));
        let pending = f.pending.map(|p| PendingPreKey {
            prekeys: p.prekeys,
            kem_ciphertext: p.kem_ciphertext,
        });
        // Role invariants: the initiator always has a ratchet key; a
        // responder never sends setup data and only sends after it has one;
        // a session that must start a new sending chain has a peer key to
        // start it from.
        let consistent = match f.initiator {
            true => ours.is_some(),
            false => pending.is_none() && (sending.is_none() || ours.is_some()),
        } && (sending.is_some() || !receiving.is_empty())
            && (pending.is_none() || f.initiator);
        if !consistent {
            return Err(invalid("role", u32::from(!f.initiator)));
        }

        Ok(Session {
            initiator: f.initiator,
            local_identity,
            remote_identity,
            session_ad: f.session_ad,
            base_key,
            handshake_id: HandshakeId::from_bytes(f.handshake_id),
            ratchet: DoubleRatchet {
                root: RootKey::new(f.root_key),
                ours,
                sending,
                previous_sending_length: f.previous_sending_length,
                receiving,
                next_chain_seq: f.next_chain_seq,
                skipped,
                bounds,
            },
            pending,
        })
    }
}
