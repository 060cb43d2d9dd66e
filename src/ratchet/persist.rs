//! The ratchet's part of the session state: [`DoubleRatchet::to_frame`]
//! and [`DoubleRatchet::from_frame`], which checks every invariant the
//! ratchet relies on, so a state that loads is a ratchet that behaves.

use std::collections::VecDeque;

use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::Bounds;
use super::keys::{ChainKey, HeaderKey, MessageKeySeed, RemoteChainKey, RootKey};
use super::skipped::SkippedKeys;
use super::state::{DoubleRatchet, OurRatchetKey, OurSide, ReceivingChain, SendingChain};
use crate::error::{DecodeError, Error, MisuseError, WireType};
use crate::keys::{X25519PublicKey, prekey_x25519};
use crate::wire::{ChainFrame, RatchetFrame, RatchetKeyFrame, SendingFrame, SkippedFrame};

/// A field of the session state that breaks an invariant (the ratchet's
/// here, the session envelope's in `session/persist.rs`).
pub(crate) fn invalid_state(field: &'static str, found: u32) -> Error {
    DecodeError::InvalidField {
        wire_type: WireType::SessionState,
        field,
        found,
    }
    .into()
}

impl Bounds {
    /// The bounds a stored ratchet was made with, checked against their
    /// ranges as [`Bounds::new`] checks a configuration.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`].
    pub(crate) fn from_frame(frame: &RatchetFrame) -> Result<Bounds, MisuseError> {
        Bounds::new(
            frame.max_forward_jump,
            frame.max_skipped_keys,
            frame.max_old_chains,
        )
    }
}

impl DoubleRatchet {
    /// The ratchet's state, secrets included, as a frame of the session
    /// state.
    pub(crate) fn to_frame(&self) -> RatchetFrame {
        let (ours, sending) = match &self.side {
            OurSide::Sending { ours, chain } => (
                Some(ours),
                Some(SendingFrame {
                    chain_key: Zeroizing::new(*chain.chain.bytes()),
                    index: chain.chain.index(),
                    header_key: Zeroizing::new(*chain.header_key.bytes()),
                    receiver_hint: chain.receiver_hint,
                }),
            ),
            OurSide::PeerStepped { ours } => (Some(ours), None),
            OurSide::ResponderFresh => (None, None),
        };
        RatchetFrame {
            root_key: Zeroizing::new(*self.root.bytes()),
            next_header_key: Zeroizing::new(*self.next_header_key.bytes()),
            max_forward_jump: self.bounds.max_forward_jump(),
            max_skipped_keys: self.bounds.max_skipped_keys(),
            max_old_chains: self.bounds.max_old_chains(),
            ours: ours.map(|o| RatchetKeyFrame {
                secret: o.secret_bytes(),
                public: Some(*o.public().as_bytes()),
            }),
            sending,
            previous_sending_length: self.previous_sending_length,
            next_chain_seq: self.next_chain_seq,
            chains: self
                .receiving
                .iter()
                .map(|c| ChainFrame {
                    ratchet_key: *c.ratchet_key.as_bytes(),
                    seq: c.seq,
                    chain_key: Zeroizing::new(*c.chain.bytes()),
                    next_index: c.chain.next_index(),
                    expired_below: c.expired_below,
                    header_key: Zeroizing::new(*c.header_key.bytes()),
                })
                .collect(),
            skipped: self
                .skipped
                .iter()
                .map(|(seq, index, seed)| SkippedFrame {
                    seq,
                    index,
                    seed: Zeroizing::new(*seed.bytes()),
                })
                .collect(),
        }
    }

    /// Restores a ratchet from [`to_frame`](Self::to_frame)'s frame,
    /// checking, in this order:
    ///
    /// 1. the bounds, against their ranges ([`Bounds::from_frame`]);
    /// 2. every peer ratchet key, as a received one is checked — or, for
    ///    a frame of revision 2 (`stored`), their encodings only, with our
    ///    public key (stored next to the private key) too;
    /// 3. the receiving chains: at most `max_old_chains + 1`, sequence
    ///    numbers strictly ascending and below `next_chain_seq`, no chain
    ///    expired beyond its next index;
    /// 4. the skipped keys: at most `max_skipped_keys`, each on a kept
    ///    chain at an index it has passed and not expired, strictly
    ///    ascending by (chain, index);
    /// 5. our side: a sending chain only with a ratchet key of ours; when
    ///    the next message must start a new chain, a peer key to start it
    ///    from; and for the `initiator`, a ratchet key (its base key was
    ///    its first).
    ///
    /// # Errors
    /// [`Error::Misuse`] for bounds out of range (1); [`Error::Decode`]
    /// for the rest: `InvalidKey` (2), `InvalidField` naming the field
    /// (3, 4; `role` for 5).
    pub(crate) fn from_frame(
        frame: RatchetFrame,
        initiator: bool,
        stored: bool,
    ) -> crate::Result<Self> {
        let bounds = Bounds::from_frame(&frame)?;
        let RatchetFrame {
            root_key,
            next_header_key,
            max_forward_jump: _,
            max_skipped_keys: _,
            max_old_chains: _,
            ours,
            sending,
            previous_sending_length,
            next_chain_seq,
            chains,
            skipped,
        } = frame;
        // Our key comes before the chains in the record, and keys are
        // checked in field order.
        let ours = ours.map(our_key).transpose()?;
        let receiving = receiving_chains(chains, next_chain_seq, bounds, stored)?;
        let skipped = skipped_keys(skipped, &receiving, bounds)?;
        let side = our_side(ours, sending, &receiving, initiator)?;
        Ok(DoubleRatchet {
            root: RootKey::new(root_key),
            next_header_key: HeaderKey::new(next_header_key),
            side,
            previous_sending_length,
            receiving,
            next_chain_seq,
            skipped,
            bounds,
        })
    }
}

/// Steps 2 and 3 of [`DoubleRatchet::from_frame`].
fn receiving_chains(
    chains: Vec<ChainFrame>,
    next_chain_seq: u32,
    bounds: Bounds,
    stored: bool,
) -> crate::Result<VecDeque<ReceivingChain>> {
    let mut keys = Vec::with_capacity(chains.len());
    for c in &chains {
        keys.push(if stored {
            X25519PublicKey::from_stored(&c.ratchet_key)?
        } else {
            prekey_x25519(&c.ratchet_key)?
        });
    }
    if chains.len() > bounds.max_old_chains() as usize + 1 {
        return Err(invalid_state("chain_count", chains.len() as u32));
    }
    let mut receiving = VecDeque::with_capacity(chains.len());
    let mut last_seq: Option<u32> = None;
    for (c, ratchet_key) in chains.into_iter().zip(keys) {
        let ChainFrame {
            ratchet_key: _,
            seq,
            chain_key,
            next_index,
            expired_below,
            header_key,
        } = c;
        if last_seq.is_some_and(|s| s >= seq) || seq >= next_chain_seq {
            return Err(invalid_state("seq", seq));
        }
        if expired_below > next_index {
            return Err(invalid_state("expired_below", expired_below));
        }
        last_seq = Some(seq);
        receiving.push_back(ReceivingChain {
            ratchet_key,
            seq,
            chain: RemoteChainKey::new(chain_key, next_index),
            expired_below,
            header_key: HeaderKey::new(header_key),
        });
    }
    Ok(receiving)
}

/// Step 4 of [`DoubleRatchet::from_frame`].
fn skipped_keys(
    skipped: Vec<SkippedFrame>,
    receiving: &VecDeque<ReceivingChain>,
    bounds: Bounds,
) -> crate::Result<SkippedKeys> {
    if skipped.len() > bounds.max_skipped_keys() as usize {
        return Err(invalid_state("skipped_count", skipped.len() as u32));
    }
    let mut items = Vec::with_capacity(skipped.len());
    for s in skipped {
        let SkippedFrame { seq, index, seed } = s;
        let Some(chain) = receiving.iter().find(|c| c.seq == seq) else {
            return Err(invalid_state("skipped_seq", seq));
        };
        if index >= chain.chain.next_index() || index < chain.expired_below {
            return Err(invalid_state("skipped_index", index));
        }
        items.push((seq, index, MessageKeySeed::new(seed)));
    }
    SkippedKeys::from_sorted(items).ok_or_else(|| invalid_state("skipped_order", 0))
}

/// Our ratchet key pair: as stored (revision 2, its public key's encoding
/// checked), or with its public key derived (revision 1).
fn our_key(frame: RatchetKeyFrame) -> crate::Result<OurRatchetKey> {
    let RatchetKeyFrame { secret, public } = frame;
    let secret = StaticSecret::from(*secret);
    Ok(match public {
        Some(public) => OurRatchetKey::from_stored(secret, X25519PublicKey::from_stored(&public)?),
        None => OurRatchetKey::from_secret(secret),
    })
}

/// Step 5 of [`DoubleRatchet::from_frame`].
fn our_side(
    ours: Option<OurRatchetKey>,
    sending: Option<SendingFrame>,
    receiving: &VecDeque<ReceivingChain>,
    initiator: bool,
) -> crate::Result<OurSide> {
    let role = || invalid_state("role", u32::from(!initiator));
    let side = match (ours, sending) {
        (Some(ours), Some(sending)) => {
            let SendingFrame {
                chain_key,
                index,
                header_key,
                receiver_hint,
            } = sending;
            OurSide::Sending {
                ours,
                chain: SendingChain {
                    chain: ChainKey::new(chain_key, index),
                    header_key: HeaderKey::new(header_key),
                    receiver_hint,
                },
            }
        }
        (Some(ours), None) => OurSide::PeerStepped { ours },
        (None, None) => OurSide::ResponderFresh,
        // Sending needs a ratchet key to send under.
        (None, Some(_)) => return Err(role()),
    };
    let fits = match &side {
        OurSide::Sending { .. } => true,
        // The next message starts a new chain from the peer's key.
        OurSide::PeerStepped { .. } => !receiving.is_empty(),
        OurSide::ResponderFresh => !initiator && !receiving.is_empty(),
    };
    if !fits {
        return Err(role());
    }
    Ok(side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{KeyKind, MisuseError};
    use crate::keys::X25519PublicKey;

    fn key(n: u8) -> Zeroizing<[u8; 32]> {
        Zeroizing::new([n; 32])
    }

    /// A responder's fresh ratchet, as a frame: no key of its own, one chain.
    fn responder() -> RatchetFrame {
        let base = X25519PublicKey::from_secret(&StaticSecret::from([3; 32]));
        DoubleRatchet::responder(
            RootKey::new(key(1)),
            RemoteChainKey::new(key(2), 4),
            HeaderKey::new(key(8)),
            HeaderKey::new(key(9)),
            base,
            Bounds::DEFAULT,
        )
        .to_frame()
    }

    fn sending(index: u32) -> SendingFrame {
        SendingFrame {
            chain_key: key(6),
            index,
            header_key: key(10),
            receiver_hint: [1, 2, 3, 4],
        }
    }

    /// Loads `frame` as revision 1 stores it: every key validated.
    fn load(frame: RatchetFrame, initiator: bool) -> Result<DoubleRatchet, Error> {
        DoubleRatchet::from_frame(frame, initiator, false)
    }

    fn field(name: &'static str, found: u32) -> Error {
        invalid_state(name, found)
    }

    #[test]
    fn a_frame_loads_back_to_the_same_frame() {
        let mut frame = responder();
        frame.ours = Some(RatchetKeyFrame {
            secret: key(5),
            public: None,
        });
        frame.sending = Some(sending(9));
        frame.skipped.push(SkippedFrame {
            seq: 0,
            index: 2,
            seed: key(7),
        });
        let back = load(frame, false).ok().unwrap().to_frame();
        assert!(
            matches!(back.sending, Some(ref s) if *s.chain_key == [6; 32] && s.index == 9
            && *s.header_key == [10; 32] && s.receiver_hint == [1, 2, 3, 4])
        );
        assert_eq!(*back.next_header_key, [9; 32]);
        assert_eq!(*back.chains[0].header_key, [8; 32]);
        assert_eq!(back.ours.map(|o| *o.secret), Some([5; 32]));
        assert_eq!(back.chains.len(), 1);
        assert_eq!(back.chains[0].next_index, 4);
        assert_eq!(back.skipped.len(), 1);
        assert_eq!((back.skipped[0].seq, back.skipped[0].index), (0, 2));
    }

    /// Each combination of "has a ratchet key" and "has a sending chain"
    /// that no ratchet can be in is refused, as the state's role.
    #[test]
    fn impossible_sides_are_role_errors() {
        assert!(load(responder(), false).is_ok());
        // An initiator always has a ratchet key.
        assert_eq!(load(responder(), true).err(), Some(field("role", 0)));
        // A sending chain needs a key to send under.
        let mut f = responder();
        f.sending = Some(sending(0));
        assert_eq!(load(f, false).err(), Some(field("role", 1)));
        // Without a sending chain, a peer key to start one from.
        let mut f = responder();
        f.chains.clear();
        assert_eq!(load(f, false).err(), Some(field("role", 1)));
        let mut f = responder();
        f.chains.clear();
        f.ours = Some(RatchetKeyFrame {
            secret: key(5),
            public: None,
        });
        assert_eq!(load(f, true).err(), Some(field("role", 0)));
        // With one, no peer key is needed (an initiator before any reply).
        let mut f = responder();
        f.chains.clear();
        f.ours = Some(RatchetKeyFrame {
            secret: key(5),
            public: None,
        });
        f.sending = Some(sending(0));
        assert!(load(f, true).is_ok());
    }

    /// Revision 2 stores keys already checked: their encodings are checked
    /// again, their subgroup is not, and our public key is taken as stored.
    #[test]
    fn stored_keys_are_checked_for_their_encoding_only() {
        // u = 0, a point of small order: canonical, outside the subgroup.
        let mut f = responder();
        f.chains[0].ratchet_key = [0; 32];
        assert!(DoubleRatchet::from_frame(f, false, true).is_ok());
        let mut f = responder();
        f.chains[0].ratchet_key = [0; 32];
        assert_eq!(
            load(f, false).err(),
            Some(Error::Decode(DecodeError::InvalidKey {
                kind: KeyKind::X25519
            }))
        );
        for stored in [false, true] {
            let mut f = responder();
            f.chains[0].ratchet_key = [0xff; 32];
            assert!(DoubleRatchet::from_frame(f, false, stored).is_err());
        }
        // Our public key: stored as written, refused if non-canonical,
        // derived when absent (revision 1).
        let derived = X25519PublicKey::from_secret(&StaticSecret::from([5; 32]));
        let ours_of = |public: Option<[u8; 32]>| {
            let mut f = responder();
            f.ours = Some(RatchetKeyFrame {
                secret: key(5),
                public,
            });
            DoubleRatchet::from_frame(f, false, public.is_some())
                .map(|r| r.to_frame().ours.and_then(|o| o.public))
        };
        assert_eq!(ours_of(Some([4; 32])).ok(), Some(Some([4; 32])));
        assert_eq!(ours_of(None).ok(), Some(Some(*derived.as_bytes())));
        assert_eq!(
            ours_of(Some([0xff; 32])).err(),
            Some(Error::Decode(DecodeError::InvalidKey {
                kind: KeyKind::X25519
            }))
        );
    }

    #[test]
    fn chains_and_skipped_keys_are_checked_against_each_other_and_the_bounds() {
        let mut f = responder();
        f.max_forward_jump = 0;
        assert!(matches!(
            load(f, false).err(),
            Some(Error::Misuse(MisuseError::ConfigOutOfRange {
                parameter: "max_forward_jump",
                ..
            }))
        ));
        let mut f = responder();
        f.chains[0].ratchet_key = [0xff; 32];
        assert_eq!(
            load(f, false).err(),
            Some(Error::Decode(DecodeError::InvalidKey {
                kind: KeyKind::X25519
            }))
        );
        let mut f = responder();
        f.max_old_chains = 0;
        f.next_chain_seq = 2;
        let mut second = responder();
        let mut extra = second.chains.remove(0);
        extra.seq = 1;
        f.chains.push(extra);
        assert_eq!(load(f, false).err(), Some(field("chain_count", 2)));
        let mut f = responder();
        f.chains[0].seq = 1;
        assert_eq!(load(f, false).err(), Some(field("seq", 1)));
        let mut f = responder();
        f.chains[0].expired_below = 5;
        assert_eq!(load(f, false).err(), Some(field("expired_below", 5)));
        for (seq, index, error) in [
            (1, 0, field("skipped_seq", 1)),
            (0, 4, field("skipped_index", 4)),
        ] {
            let mut f = responder();
            f.skipped.push(SkippedFrame {
                seq,
                index,
                seed: key(7),
            });
            assert_eq!(load(f, false).err(), Some(error));
        }
        let mut f = responder();
        f.max_skipped_keys = 1;
        for index in [1, 0] {
            f.skipped.push(SkippedFrame {
                seq: 0,
                index,
                seed: key(7),
            });
        }
        assert_eq!(load(f, false).err(), Some(field("skipped_count", 2)));
        let mut f = responder();
        for index in [1, 0] {
            f.skipped.push(SkippedFrame {
                seq: 0,
                index,
                seed: key(7),
            });
        }
        assert_eq!(load(f, false).err(), Some(field("skipped_order", 0)));
    }
}
