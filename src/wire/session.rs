//! The serialized-session frame.

use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::{
    Frame, KEM_CIPHERTEXT_LEN, KEY_LEN, PreKeyFrame, RECEIVER_HINT_LEN, Reader, TYPE_SESSION_STATE,
    TYPE_SESSION_STATE_REV1, Writer,
};
use crate::error::{DecodeError, WireType};
use crate::limits::{MAX_OLD_CHAINS_LIMIT, MAX_SKIPPED_KEYS_LIMIT};

type Secret32 = Zeroizing<[u8; KEY_LEN]>;

/// Our ratchet key pair: the private key, and in revision 2 the public key
/// derived from it.
pub(crate) struct RatchetKeyFrame {
    pub(crate) secret: Secret32,
    pub(crate) public: Option<[u8; KEY_LEN]>,
}

/// The X25519 forms of the two identity keys (revision 2 only).
#[derive(Clone, Copy)]
pub(crate) struct IdentityForms {
    pub(crate) local: [u8; KEY_LEN],
    pub(crate) remote: [u8; KEY_LEN],
}

/// A receiving chain.
pub(crate) struct ChainFrame {
    pub(crate) ratchet_key: [u8; KEY_LEN],
    pub(crate) seq: u32,
    pub(crate) chain_key: Secret32,
    pub(crate) next_index: u32,
    pub(crate) expired_below: u32,
    pub(crate) header_key: Secret32,
}

/// Our sending chain.
pub(crate) struct SendingFrame {
    pub(crate) chain_key: Secret32,
    pub(crate) index: u32,
    pub(crate) header_key: Secret32,
    pub(crate) receiver_hint: [u8; RECEIVER_HINT_LEN],
}

/// A stored skipped message key.
pub(crate) struct SkippedFrame {
    pub(crate) seq: u32,
    pub(crate) index: u32,
    pub(crate) seed: Secret32,
}

/// The setup data an initiator repeats until it hears back.
pub(crate) struct PendingPreKeyFrame {
    pub(crate) prekeys: PreKeyFrame,
    pub(crate) kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
}

/// A session, serialized. Two revisions: 2 (type `0x11`, written) stores
/// the values derived from its keys — the identities' X25519 forms and our
/// ratchet public key — so that a reader need not recompute them; 1 (type
/// `0x10`, still read) stores only the keys. Fields marked "rev 2" are
/// absent from revision 1.
///
/// ```text
/// field                    size   notes
/// version                     1   = 0x01
/// type                        1   = 0x11 (revision 2) or 0x10 (revision 1)
/// suite                       1   = 0x01
/// role                        1   0x00 initiator, 0x01 responder
/// local_identity             32   Ed25519 public key
/// local_identity_x25519      32   rev 2: its X25519 form
/// remote_identity            32   Ed25519 public key
/// remote_identity_x25519     32   rev 2: its X25519 form
/// session_ad                 32   associated-data digest
/// base_key                   32   the initiator's base (ephemeral) public key
/// handshake_id               32   the handshake's id
/// padding_block               2   u16, 1 ..= MAX_PADDING_BLOCK_LIMIT (checked a layer up)
/// padding_padme               1   0x00 or 0x01
/// root_key                   32   secret
/// next_header_key            32   secret
/// max_forward_jump            4   u32
/// max_skipped_keys            4   u32
/// max_old_chains              4   u32
/// ratchet_present             1   0x00 or 0x01
///   ratchet_secret           32   secret, when present
///   ratchet_public           32   rev 2: its public key, when present
/// sending_present             1   0x00 or 0x01
///   sending_chain_key        32   secret, when present
///   sending_index             4   u32, when present
///   sending_header_key       32   secret, when present
///   sending_receiver_hint     4   when present
/// previous_sending_length     4   u32
/// next_chain_seq              4   u32
/// chain_count                 4   u32, 0 ..= MAX_OLD_CHAINS_LIMIT + 1, oldest first
///   per chain: ratchet_key 32, seq 4, chain_key 32 (secret), next_index 4, expired_below 4,
///              header_key 32 (secret)
/// skipped_count               4   u32, 0 ..= MAX_SKIPPED_KEYS_LIMIT, oldest first
///   per key: seq 4, index 4, seed 32 (secret)
/// pending_present             1   0x00 or 0x01
///   signed_prekey_id          4   when present
///   one_time_present          1   when present
///   one_time_prekey_id        4   when present and one_time_present = 0x01
///   kem_prekey_id             4   when present
///   kem_ciphertext         1088   when present
/// ```
pub(crate) struct SessionFrame {
    pub(crate) suite: u8,
    pub(crate) initiator: bool,
    pub(crate) local_identity: [u8; KEY_LEN],
    pub(crate) remote_identity: [u8; KEY_LEN],
    /// Present exactly in revision 2, as is `ratchet.ours.public`: the
    /// revision a frame encodes as.
    pub(crate) identity_forms: Option<IdentityForms>,
    pub(crate) session_ad: [u8; KEY_LEN],
    pub(crate) base_key: [u8; KEY_LEN],
    pub(crate) handshake_id: [u8; KEY_LEN],
    /// The sender's padding block.
    pub(crate) padding_block: u16,
    /// Whether the padding rounds to Padmé's buckets.
    pub(crate) padding_padme: bool,
    /// `root_key` to `skipped`, in the order above.
    pub(crate) ratchet: RatchetFrame,
    pub(crate) pending: Option<PendingPreKeyFrame>,
}

/// The ratchet's part of a [`SessionFrame`], `root_key` to the skipped keys.
pub(crate) struct RatchetFrame {
    pub(crate) root_key: Secret32,
    pub(crate) next_header_key: Secret32,
    pub(crate) max_forward_jump: u32,
    pub(crate) max_skipped_keys: u32,
    pub(crate) max_old_chains: u32,
    /// Our ratchet key (`ratchet_present` and `ratchet_secret`).
    pub(crate) ours: Option<RatchetKeyFrame>,
    pub(crate) sending: Option<SendingFrame>,
    pub(crate) previous_sending_length: u32,
    pub(crate) next_chain_seq: u32,
    pub(crate) chains: Vec<ChainFrame>,
    pub(crate) skipped: Vec<SkippedFrame>,
}

impl ZeroizeOnDrop for RatchetKeyFrame {}
impl ZeroizeOnDrop for ChainFrame {}
impl ZeroizeOnDrop for SendingFrame {}
impl ZeroizeOnDrop for SkippedFrame {}
impl ZeroizeOnDrop for RatchetFrame {}
impl ZeroizeOnDrop for SessionFrame {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
/// Public fields: identities, the session AD (a hash of public values),
/// keys and counters that travel in message headers, bounds, and the
/// pending setup data (sent in the clear with every `PreKeyMessage`).
#[allow(dead_code)]
fn zeroize_audit(
    ours: &RatchetKeyFrame,
    sending_frame: &SendingFrame,
    chain: &ChainFrame,
    skipped: &SkippedFrame,
    ratchet: &RatchetFrame,
    session: &SessionFrame,
) {
    use crate::hygiene::zod;
    let RatchetKeyFrame { secret, public: _ } = ours;
    zod(secret);
    let SendingFrame {
        chain_key,
        index: _,
        header_key,
        receiver_hint: _,
    } = sending_frame;
    zod(chain_key);
    zod(header_key);
    let ChainFrame {
        ratchet_key: _,
        seq: _,
        chain_key,
        next_index: _,
        expired_below: _,
        header_key,
    } = chain;
    zod(chain_key);
    zod(header_key);
    let SkippedFrame {
        seq: _,
        index: _,
        seed,
    } = skipped;
    zod(seed);
    let RatchetFrame {
        root_key,
        next_header_key,
        max_forward_jump: _,
        max_skipped_keys: _,
        max_old_chains: _,
        ours,
        sending,
        previous_sending_length: _,
        next_chain_seq: _,
        chains,
        skipped,
    } = ratchet;
    zod(root_key);
    zod(next_header_key);
    zod(ours);
    zod(sending);
    zod(chains);
    zod(skipped);
    let SessionFrame {
        suite: _,
        initiator: _,
        local_identity: _,
        remote_identity: _,
        identity_forms: _,
        session_ad: _,
        base_key: _,
        handshake_id: _,
        padding_block: _,
        padding_padme: _,
        ratchet,
        pending: _,
    } = session;
    zod(ratchet);
}

impl SessionFrame {
    /// The fields that are always there: the envelope, the root and next
    /// header keys, the bounds, the two presence flags of the ratchet, the
    /// counters, the two counts and the pending flag.
    const FIXED_LEN: usize =
        4 + 5 * KEY_LEN + 2 + 1 + 2 * KEY_LEN + 3 * 4 + 1 + 1 + 4 + 4 + 4 + 4 + 1;
    /// Our ratchet private key, when present.
    const OURS_LEN: usize = KEY_LEN;
    /// What revision 2 adds: the identities' X25519 forms, and our
    /// ratchet public key when the key pair is present.
    const FORMS_LEN: usize = 2 * KEY_LEN;
    /// The sending chain, when present.
    const SENDING_LEN: usize = KEY_LEN + 4 + KEY_LEN + RECEIVER_HINT_LEN;
}

impl Frame<'_> for SessionFrame {
    type Error = DecodeError;

    /// Exact, so that [`Frame::to_secret_vec`] never reallocates (which
    /// would leave a copy of the secrets written so far behind in freed
    /// memory).
    fn encoded_len(&self) -> usize {
        let r = &self.ratchet;
        let pending = self.pending.as_ref().map_or(0, |p| {
            4 + 1 + p.prekeys.one_time_prekey_id.map_or(0, |_| 4) + 4 + KEM_CIPHERTEXT_LEN
        });
        Self::FIXED_LEN
            + self.identity_forms.map_or(0, |_| Self::FORMS_LEN)
            + r.ours
                .as_ref()
                .map_or(0, |o| Self::OURS_LEN + o.public.map_or(0, |_| KEY_LEN))
            + r.sending.as_ref().map_or(0, |_| Self::SENDING_LEN)
            + r.chains.len() * ChainFrame::LEN
            + r.skipped.len() * SkippedFrame::LEN
            + pending
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        let forms = self.identity_forms;
        w.header(forms.map_or(TYPE_SESSION_STATE_REV1, |_| TYPE_SESSION_STATE))
            .u8(self.suite)
            .flag(!self.initiator)
            .bytes(&self.local_identity);
        if let Some(f) = &forms {
            w.bytes(&f.local);
        }
        w.bytes(&self.remote_identity);
        if let Some(f) = &forms {
            w.bytes(&f.remote);
        }
        w.bytes(&self.session_ad)
            .bytes(&self.base_key)
            .bytes(&self.handshake_id)
            .u16(self.padding_block)
            .flag(self.padding_padme);
        self.ratchet.encode(&mut w);
        w.flag(self.pending.is_some());
        if let Some(p) = &self.pending {
            w.u32(p.prekeys.signed_prekey_id)
                .flag(p.prekeys.one_time_prekey_id.is_some());
            if let Some(id) = p.prekeys.one_time_prekey_id {
                w.u32(id);
            }
            w.u32(p.prekeys.kem_prekey_id).bytes(&p.kem_ciphertext[..]);
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SessionState);
        let revision_2 =
            r.header_of(&[TYPE_SESSION_STATE, TYPE_SESSION_STATE_REV1])? == TYPE_SESSION_STATE;
        let suite = r.suite()?;
        let initiator = !r.flag("role")?;
        let local_identity = r.array()?;
        let local_form = if revision_2 { Some(r.array()?) } else { None };
        let remote_identity = r.array()?;
        let identity_forms = match local_form {
            Some(local) => Some(IdentityForms {
                local,
                remote: r.array()?,
            }),
            None => None,
        };
        let session_ad = r.array()?;
        let base_key = r.array()?;
        let handshake_id = r.array()?;
        let padding_block = r.u16()?;
        let padding_padme = r.flag("padding_padme")?;
        let ratchet = RatchetFrame::decode(&mut r, bytes.len(), revision_2)?;
        let pending = if r.flag("pending_present")? {
            let signed_prekey_id = r.u32()?;
            let one_time_prekey_id = if r.flag("one_time_present")? {
                Some(r.u32()?)
            } else {
                None
            };
            let kem_prekey_id = r.u32()?;
            Some(PendingPreKeyFrame {
                prekeys: PreKeyFrame {
                    signed_prekey_id,
                    one_time_prekey_id,
                    kem_prekey_id,
                },
                kem_ciphertext: r.boxed_array()?,
            })
        } else {
            None
        };
        r.finish()?;
        Ok(SessionFrame {
            suite,
            initiator,
            local_identity,
            remote_identity,
            identity_forms,
            session_ad,
            base_key,
            handshake_id,
            padding_block,
            padding_padme,
            ratchet,
            pending,
        })
    }
}

/// `record` (a session state of revision 2) re-encoded as revision 1: the
/// same state without the values derived from its keys.
#[cfg(test)]
pub(crate) fn revision_1(record: &[u8]) -> Vec<u8> {
    let mut frame = SessionFrame::decode(record).unwrap();
    frame.identity_forms = None;
    if let Some(ours) = frame.ratchet.ours.as_mut() {
        ours.public = None;
    }
    frame.to_secret_vec().to_vec()
}

impl ChainFrame {
    /// Length of one encoded chain.
    const LEN: usize = KEY_LEN + 4 + KEY_LEN + 4 + 4 + KEY_LEN;
}

impl SkippedFrame {
    /// Length of one encoded skipped key.
    const LEN: usize = 4 + 4 + KEY_LEN;
}

impl RatchetFrame {
    fn encode(&self, w: &mut Writer<'_>) {
        w.bytes(&self.root_key[..])
            .bytes(&self.next_header_key[..])
            .u32(self.max_forward_jump)
            .u32(self.max_skipped_keys)
            .u32(self.max_old_chains)
            .flag(self.ours.is_some());
        if let Some(r) = &self.ours {
            w.bytes(&r.secret[..]);
            if let Some(public) = &r.public {
                w.bytes(public);
            }
        }
        w.flag(self.sending.is_some());
        if let Some(s) = &self.sending {
            w.bytes(&s.chain_key[..])
                .u32(s.index)
                .bytes(&s.header_key[..])
                .bytes(&s.receiver_hint);
        }
        w.u32(self.previous_sending_length)
            .u32(self.next_chain_seq)
            .length(self.chains.len());
        for c in &self.chains {
            w.bytes(&c.ratchet_key)
                .u32(c.seq)
                .bytes(&c.chain_key[..])
                .u32(c.next_index)
                .u32(c.expired_below)
                .bytes(&c.header_key[..]);
        }
        w.length(self.skipped.len());
        for s in &self.skipped {
            w.u32(s.seq).u32(s.index).bytes(&s.seed[..]);
        }
    }

    /// Reads the ratchet's fields from `r`; `total` is the length of the
    /// whole state, which bounds what a forged count can pre-allocate;
    /// `revision_2` says whether our ratchet public key is stored.
    fn decode(r: &mut Reader<'_>, total: usize, revision_2: bool) -> Result<Self, DecodeError> {
        let root_key = secret(r)?;
        let next_header_key = secret(r)?;
        let max_forward_jump = r.u32()?;
        let max_skipped_keys = r.u32()?;
        let max_old_chains = r.u32()?;
        let ours = if r.flag("ratchet_present")? {
            Some(RatchetKeyFrame {
                secret: secret(r)?,
                public: if revision_2 { Some(r.array()?) } else { None },
            })
        } else {
            None
        };
        let sending = if r.flag("sending_present")? {
            Some(SendingFrame {
                chain_key: secret(r)?,
                index: r.u32()?,
                header_key: secret(r)?,
                receiver_hint: r.array()?,
            })
        } else {
            None
        };
        let previous_sending_length = r.u32()?;
        let next_chain_seq = r.u32()?;
        let chain_count = r.length(0, MAX_OLD_CHAINS_LIMIT as usize + 1)?;
        let mut chains = Vec::with_capacity(chain_count);
        for _ in 0..chain_count {
            chains.push(ChainFrame {
                ratchet_key: r.array()?,
                seq: r.u32()?,
                chain_key: secret(r)?,
                next_index: r.u32()?,
                expired_below: r.u32()?,
                header_key: secret(r)?,
            });
        }
        let skipped_count = r.length(0, MAX_SKIPPED_KEYS_LIMIT as usize)?;
        let mut skipped = Vec::with_capacity(skipped_count.min(total / SkippedFrame::LEN));
        for _ in 0..skipped_count {
            skipped.push(SkippedFrame {
                seq: r.u32()?,
                index: r.u32()?,
                seed: secret(r)?,
            });
        }
        Ok(RatchetFrame {
            root_key,
            next_header_key,
            max_forward_jump,
            max_skipped_keys,
            max_old_chains,
            ours,
            sending,
            previous_sending_length,
            next_chain_seq,
            chains,
            skipped,
        })
    }
}

fn secret(r: &mut Reader<'_>) -> Result<Secret32, DecodeError> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    out.copy_from_slice(r.take(KEY_LEN)?);
    Ok(out)
}
