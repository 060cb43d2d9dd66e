//! Frames of a client's store: the sealed envelope every stored record
//! travels in, and the records inside it (the account, a peer's identity,
//! a peer device's sessions). Layouts in `docs/STORAGE.md`.

use zeroize::Zeroizing;

use super::address::DeviceAddressFrame;
use super::{
    Frame, KEY_LEN, Reader, TAG_LEN, TYPE_ACCOUNT, TYPE_PEER_IDENTITY, TYPE_PEER_USER, TYPE_SEALED,
    TYPE_SESSION_SET, Writer,
};
use crate::address::DeviceAddress;
use crate::error::{DecodeError, WireType};
use crate::limits::{
    MAX_DEVICE_LIST_LEN, MAX_ROUTED_CHAINS, MAX_SESSION_STATE_LEN, MAX_SESSIONS_PER_SET,
    MIN_DEVICE_LIST_LEN,
};
use crate::sizes::SEAL_NONCE_LEN;

/// Length of a sealed record's header: version, type, key id, nonce.
pub(crate) const SEAL_HEADER_LEN: usize = 1 + 1 + 4 + SEAL_NONCE_LEN;
/// The largest record a seal may hold: the largest session set (see
/// `MAX_SESSION_STATE_LEN`, `MAX_ROUTED_CHAINS` and `MAX_SESSIONS_PER_SET`
/// in `limits.rs`) with room for its framing.
pub(crate) const MAX_SEALED_PLAINTEXT_LEN: usize =
    2 + 1 + 4 + MAX_SESSIONS_PER_SET * MAX_SESSION_ENTRY_LEN;
/// The longest session-set entry: times, the handshake id and pending
/// flag, the routing keys at their bound, the length and the largest
/// session.
const MAX_SESSION_ENTRY_LEN: usize =
    8 + 8 + KEY_LEN + 1 + 1 + KEY_LEN + 1 + MAX_ROUTED_CHAINS * KEY_LEN + 4 + MAX_SESSION_STATE_LEN;

/// A record sealed under a storage key.
///
/// ```text
/// field        size  notes
/// version         1  = 0x01
/// type            1  = 0x30 (SealedRecord)
/// key_id          4  u32, the storage key's id
/// nonce          24  random
/// ciphertext   16..  XChaCha20-Poly1305 of the record, tag last
/// ```
pub(crate) struct SealedFrame<'a> {
    pub(crate) key_id: u32,
    pub(crate) nonce: [u8; SEAL_NONCE_LEN],
    pub(crate) ciphertext: &'a [u8],
}

impl<'a> SealedFrame<'a> {
    /// The header bytes (everything before the ciphertext), which the seal
    /// authenticates.
    pub(crate) fn header(key_id: u32, nonce: &[u8; SEAL_NONCE_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEAL_HEADER_LEN);
        Writer::new(&mut out)
            .header(TYPE_SEALED)
            .u32(key_id)
            .bytes(nonce);
        out
    }
}

impl<'a> Frame<'a> for SealedFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        SEAL_HEADER_LEN + self.ciphertext.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_SEALED)
            .u32(self.key_id)
            .bytes(&self.nonce)
            .bytes(self.ciphertext);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SealedRecord);
        r.header(TYPE_SEALED)?;
        let key_id = r.u32()?;
        let nonce = r.array()?;
        let ciphertext = r.remaining();
        let max = MAX_SEALED_PLAINTEXT_LEN + TAG_LEN;
        if ciphertext.len() < TAG_LEN || ciphertext.len() > max {
            return Err(DecodeError::LengthOutOfRange {
                wire_type: WireType::SealedRecord,
                min: TAG_LEN,
                max,
                found: ciphertext.len(),
            });
        }
        Ok(SealedFrame {
            key_id,
            nonce,
            ciphertext,
        })
    }
}

/// The account: this device's identity, its user's identity, its own
/// address, and the next prekey ids.
///
/// ```text
/// field               size  notes
/// version                1  = 0x01
/// type                   1  = 0x39 (AccountRecord; 0x31 before it held
///                               the user key and the address)
/// identity_secret       32  the device's Ed25519 secret key (secret)
/// user_secret           32  the user's Ed25519 secret key (secret)
/// address          7..327  this device's embedded DeviceAddress
/// created_at             8  u64, seconds since the Unix epoch
/// next_signed_id         4  u32
/// next_one_time_id       4  u32
/// next_kem_id            4  u32
/// ```
pub(crate) struct AccountFrame {
    pub(crate) identity_secret: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) user_secret: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) address: DeviceAddress,
    pub(crate) created_at: u64,
    pub(crate) next_signed_id: u32,
    pub(crate) next_one_time_id: u32,
    pub(crate) next_kem_id: u32,
}

impl zeroize::ZeroizeOnDrop for AccountFrame {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(frame: &AccountFrame) {
    let AccountFrame {
        identity_secret,
        user_secret,
        address: _,
        created_at: _,
        next_signed_id: _,
        next_one_time_id: _,
        next_kem_id: _,
    } = frame;
    crate::hygiene::zod(identity_secret);
    crate::hygiene::zod(user_secret);
}

impl Frame<'_> for AccountFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + KEY_LEN + KEY_LEN + DeviceAddressFrame::of(&self.address).embedded_len() + 8 + 4 + 4 + 4
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_ACCOUNT)
            .bytes(&self.identity_secret[..])
            .bytes(&self.user_secret[..]);
        DeviceAddressFrame::of(&self.address).write_embedded(&mut w);
        w.u64(self.created_at)
            .u32(self.next_signed_id)
            .u32(self.next_one_time_id)
            .u32(self.next_kem_id);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::AccountRecord);
        r.header(TYPE_ACCOUNT)?;
        let identity_secret = Zeroizing::new(r.array()?);
        let user_secret = Zeroizing::new(r.array()?);
        let address = DeviceAddressFrame::read_embedded(&mut r)?
            .to_address()
            .map_err(|_| DecodeError::InvalidField {
                wire_type: WireType::AccountRecord,
                field: "address",
                found: 0,
            })?;
        let frame = AccountFrame {
            identity_secret,
            user_secret,
            address,
            created_at: r.u64()?,
            next_signed_id: r.u32()?,
            next_one_time_id: r.u32()?,
            next_kem_id: r.u32()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

/// What is known about a peer user: the user identity key on record, the
/// trust decision about it, and the latest device list accepted for the
/// user (signed by that key). This device's own user has one too.
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x3a (PeerUserRecord)
/// user_key         32  Ed25519 public key
/// verified          1  0x00 trusted on first use or accepted, 0x01 verified
/// first_seen        8  u64, when this key was first recorded
/// device_list  197..1175  the device list's encoding (PROTOCOL.md §12.1),
///                     to the end
/// ```
pub(crate) struct PeerUserFrame<'a> {
    pub(crate) user_key: [u8; KEY_LEN],
    pub(crate) verified: bool,
    pub(crate) first_seen: u64,
    pub(crate) device_list: &'a [u8],
}

impl<'a> Frame<'a> for PeerUserFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + KEY_LEN + 1 + 8 + self.device_list.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_PEER_USER)
            .bytes(&self.user_key)
            .flag(self.verified)
            .u64(self.first_seen)
            .bytes(self.device_list);
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::PeerUserRecord);
        r.header(TYPE_PEER_USER)?;
        let user_key = r.array()?;
        let verified = r.flag("verified")?;
        let first_seen = r.u64()?;
        let device_list = r.remaining();
        if device_list.len() < MIN_DEVICE_LIST_LEN || device_list.len() > MAX_DEVICE_LIST_LEN {
            return Err(DecodeError::LengthOutOfRange {
                wire_type: WireType::PeerUserRecord,
                min: MIN_DEVICE_LIST_LEN,
                max: MAX_DEVICE_LIST_LEN,
                found: device_list.len(),
            });
        }
        Ok(PeerUserFrame {
            user_key,
            verified,
            first_seen,
            device_list,
        })
    }
}

/// What is known about a peer device's identity key.
///
/// ```text
/// field          size  notes
/// version           1  = 0x01
/// type              1  = 0x32 (PeerIdentityRecord)
/// identity_key     32  Ed25519 public key
/// verified          1  0x00 trusted on first use or accepted, 0x01 verified
/// first_seen        8  u64, when this key was first recorded
/// ```
pub(crate) struct PeerIdentityFrame {
    pub(crate) identity_key: [u8; KEY_LEN],
    pub(crate) verified: bool,
    pub(crate) first_seen: u64,
}

impl Frame<'_> for PeerIdentityFrame {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + KEY_LEN + 1 + 8
    }

    fn encode(&self, out: &mut Vec<u8>) {
        Writer::new(out)
            .header(TYPE_PEER_IDENTITY)
            .bytes(&self.identity_key)
            .flag(self.verified)
            .u64(self.first_seen);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::PeerIdentityRecord);
        r.header(TYPE_PEER_IDENTITY)?;
        let frame = PeerIdentityFrame {
            identity_key: r.array()?,
            verified: r.flag("verified")?,
            first_seen: r.u64()?,
        };
        r.finish()?;
        Ok(frame)
    }
}

/// One session of a session set, with what routes a message to it and
/// decides which session is current without decoding it: its handshake
/// id, whether it still sends `PreKeyMessage`s (*pending*), its own
/// current ratchet public key and the peer's ratchet keys of every
/// receiving chain it keeps (all exactly what the session holds; the
/// account checks that when it decodes the session).
pub(crate) struct SessionEntryFrame<'a> {
    pub(crate) created_at: u64,
    pub(crate) last_used: u64,
    pub(crate) handshake_id: [u8; KEY_LEN],
    pub(crate) pending: bool,
    pub(crate) our_ratchet_key: Option<[u8; KEY_LEN]>,
    pub(crate) receiving_keys: Vec<[u8; KEY_LEN]>,
    pub(crate) session: &'a [u8],
}

impl SessionEntryFrame<'_> {
    fn encoded_len(&self) -> usize {
        8 + 8
            + KEY_LEN
            + 1
            + 1
            + self.our_ratchet_key.map_or(0, |_| KEY_LEN)
            + 1
            + self.receiving_keys.len() * KEY_LEN
            + 4
            + self.session.len()
    }
}

/// The sessions with one peer device, the current one first — unless the
/// set is *closed*: then every session is archived (a reset, or a
/// decryption-error receipt, closed the current one) and the next message
/// to the device needs a new session.
///
/// ```text
/// field               size  notes
/// version                1  = 0x01
/// type                   1  = 0x3b (SessionSetRecord; 0x33, without
///                              routing keys, 0x37, without handshake
///                              ids, and 0x38, without the closed flag,
///                              are retired)
/// closed                 1  flag: no session is current
/// count                  4  u32, 1 ..= MAX_SESSIONS_PER_SET
/// count × entry:
///   created_at           8  u64, when the session was set up
///   last_used            8  u64, when it last encrypted or decrypted
///   handshake_id        32  the session's handshake id
///   pending              1  flag: whether it still sends PreKeyMessages
///   has_ratchet_key      1  flag: whether the session has a ratchet key
///   our_ratchet_key   0|32  its current ratchet public key, if it has one
///   receiving_count      1  u8, 0 ..= MAX_ROUTED_CHAINS
///   receiving_keys  32 × n  the peer's ratchet key of each receiving
///                            chain kept, oldest first
///   length               4  u32, 1 ..= MAX_SESSION_STATE_LEN
///   session         length  a session state (type 0x10)
/// ```
pub(crate) struct SessionSetFrame<'a> {
    pub(crate) closed: bool,
    pub(crate) entries: Vec<SessionEntryFrame<'a>>,
}

impl<'a> Frame<'a> for SessionSetFrame<'a> {
    type Error = DecodeError;

    fn encoded_len(&self) -> usize {
        2 + 1
            + 4
            + self
                .entries
                .iter()
                .map(SessionEntryFrame::encoded_len)
                .sum::<usize>()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.header(TYPE_SESSION_SET)
            .flag(self.closed)
            .length(self.entries.len());
        for e in &self.entries {
            w.u64(e.created_at).u64(e.last_used);
            w.bytes(&e.handshake_id).flag(e.pending);
            w.flag(e.our_ratchet_key.is_some());
            if let Some(key) = &e.our_ratchet_key {
                w.bytes(key);
            }
            // At most MAX_ROUTED_CHAINS (33) keys: the session's own bound.
            w.u8(u8::try_from(e.receiving_keys.len()).unwrap_or(u8::MAX));
            for key in &e.receiving_keys {
                w.bytes(key);
            }
            w.length(e.session.len()).bytes(e.session);
        }
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, WireType::SessionSetRecord);
        r.header(TYPE_SESSION_SET)?;
        let closed = r.flag("closed")?;
        let count = r.length(1, MAX_SESSIONS_PER_SET)?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let created_at = r.u64()?;
            let last_used = r.u64()?;
            let handshake_id = r.array()?;
            let pending = r.flag("pending")?;
            let our_ratchet_key = match r.flag("has_ratchet_key")? {
                true => Some(r.array()?),
                false => None,
            };
            let receiving = usize::from(r.u8()?);
            if receiving > MAX_ROUTED_CHAINS {
                return Err(DecodeError::LengthOutOfRange {
                    wire_type: WireType::SessionSetRecord,
                    min: 0,
                    max: MAX_ROUTED_CHAINS,
                    found: receiving,
                });
            }
            let mut receiving_keys = Vec::with_capacity(receiving);
            for _ in 0..receiving {
                receiving_keys.push(r.array()?);
            }
            let len = r.length(1, MAX_SESSION_STATE_LEN)?;
            entries.push(SessionEntryFrame {
                created_at,
                last_used,
                handshake_id,
                pending,
                our_ratchet_key,
                receiving_keys,
                session: r.take(len)?,
            });
        }
        r.finish()?;
        Ok(SessionSetFrame { closed, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_round_trip_and_rejects_trailing_bytes() {
        let frame = AccountFrame {
            identity_secret: Zeroizing::new([7; 32]),
            user_secret: Zeroizing::new([8; 32]),
            address: DeviceAddress::new(b"chat.example", b"alice", 3).unwrap(),
            created_at: 1_700_000_000,
            next_signed_id: 2,
            next_one_time_id: 101,
            next_kem_id: 57,
        };
        let bytes = frame.to_vec();
        assert_eq!(bytes.len(), frame.encoded_len());
        assert_eq!(frame.to_secret_vec()[..], bytes[..]);
        let back = AccountFrame::decode(&bytes).unwrap();
        assert_eq!(back.to_vec(), bytes);
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(matches!(
            AccountFrame::decode(&long),
            Err(DecodeError::TrailingBytes { count: 1, .. })
        ));
        for cut in 0..bytes.len() {
            assert!(AccountFrame::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn the_retired_account_layout_is_refused_by_type() {
        let frame = AccountFrame {
            identity_secret: Zeroizing::new([7; 32]),
            user_secret: Zeroizing::new([8; 32]),
            address: DeviceAddress::new(b"a", b"b", 1).unwrap(),
            created_at: 1,
            next_signed_id: 1,
            next_one_time_id: 1,
            next_kem_id: 1,
        };
        let mut bytes = frame.to_vec();
        bytes[1] = 0x31;
        assert!(matches!(
            AccountFrame::decode(&bytes),
            Err(DecodeError::UnexpectedType { found: 0x31, .. })
        ));
    }

    #[test]
    fn peer_user_bounds_its_device_list() {
        let list = [3u8; MIN_DEVICE_LIST_LEN];
        let frame = PeerUserFrame {
            user_key: [1; 32],
            verified: false,
            first_seen: 9,
            device_list: &list,
        };
        let bytes = frame.to_vec();
        assert_eq!(bytes.len(), frame.encoded_len());
        assert_eq!(PeerUserFrame::decode(&bytes).unwrap().to_vec(), bytes);
        assert!(matches!(
            PeerUserFrame::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::LengthOutOfRange { found, .. }) if found == MIN_DEVICE_LIST_LEN - 1
        ));
        let long = [3u8; MAX_DEVICE_LIST_LEN + 1];
        let over = PeerUserFrame {
            device_list: &long,
            ..frame
        };
        assert!(matches!(
            PeerUserFrame::decode(&over.to_vec()),
            Err(DecodeError::LengthOutOfRange { found, .. }) if found == MAX_DEVICE_LIST_LEN + 1
        ));
        let mut flag = bytes.clone();
        flag[2 + 32] = 2;
        assert!(matches!(
            PeerUserFrame::decode(&flag),
            Err(DecodeError::InvalidField {
                field: "verified",
                found: 2,
                ..
            })
        ));
    }

    #[test]
    fn peer_identity_rejects_a_bad_flag() {
        let frame = PeerIdentityFrame {
            identity_key: [1; 32],
            verified: true,
            first_seen: 5,
        };
        let mut bytes = frame.to_vec();
        assert_eq!(bytes.len(), frame.encoded_len());
        assert_eq!(PeerIdentityFrame::decode(&bytes).unwrap().to_vec(), bytes);
        bytes[2 + 32] = 2;
        assert!(matches!(
            PeerIdentityFrame::decode(&bytes),
            Err(DecodeError::InvalidField {
                field: "verified",
                found: 2,
                ..
            })
        ));
    }

    fn two_entries() -> SessionSetFrame<'static> {
        SessionSetFrame {
            closed: false,
            entries: vec![
                SessionEntryFrame {
                    created_at: 1,
                    last_used: 2,
                    handshake_id: [8; KEY_LEN],
                    pending: true,
                    our_ratchet_key: Some([9; KEY_LEN]),
                    receiving_keys: vec![[5; KEY_LEN], [6; KEY_LEN]],
                    session: b"abc",
                },
                SessionEntryFrame {
                    created_at: 3,
                    last_used: 4,
                    handshake_id: [4; KEY_LEN],
                    pending: false,
                    our_ratchet_key: None,
                    receiving_keys: vec![],
                    session: b"d",
                },
            ],
        }
    }

    #[test]
    fn session_set_bounds_its_count() {
        let frame = two_entries();
        let bytes = frame.to_vec();
        assert_eq!(bytes.len(), frame.encoded_len());
        assert_eq!(
            bytes.len(),
            7 + (16 + 33 + 1 + 32 + 1 + 64 + 4 + 3) + (16 + 33 + 1 + 1 + 4 + 1)
        );
        assert_eq!(SessionSetFrame::decode(&bytes).unwrap().to_vec(), bytes);
        for cut in 0..bytes.len() {
            assert!(SessionSetFrame::decode(&bytes[..cut]).is_err());
        }
        let mut empty = bytes[..3].to_vec();
        empty.extend_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            SessionSetFrame::decode(&empty),
            Err(DecodeError::LengthOutOfRange { found: 0, .. })
        ));
    }

    #[test]
    fn session_set_bounds_its_routing_keys() {
        let mut frame = two_entries();
        frame.entries[1].receiving_keys = vec![[7; KEY_LEN]; MAX_ROUTED_CHAINS];
        let bytes = frame.to_vec();
        assert_eq!(SessionSetFrame::decode(&bytes).unwrap().to_vec(), bytes);
        // One key more than a session can keep: the count is refused
        // before any key is read.
        let count_at = 7 + (16 + 33 + 1 + 32 + 1 + 64 + 4 + 3) + 16 + 33 + 1;
        let mut over = bytes.clone();
        over[count_at] = u8::try_from(MAX_ROUTED_CHAINS + 1).unwrap();
        assert!(matches!(
            SessionSetFrame::decode(&over),
            Err(DecodeError::LengthOutOfRange { found, .. }) if found == MAX_ROUTED_CHAINS + 1
        ));
        // A flag other than 0x00 / 0x01.
        for (at, name) in [(7 + 16 + 32, "pending"), (7 + 16 + 33, "has_ratchet_key")] {
            let mut flag = bytes.clone();
            flag[at] = 2;
            assert!(matches!(
                SessionSetFrame::decode(&flag),
                Err(DecodeError::InvalidField {
                    field,
                    found: 2,
                    ..
                }) if field == name
            ));
        }
        let mut closed = bytes.clone();
        closed[2] = 2;
        assert!(matches!(
            SessionSetFrame::decode(&closed),
            Err(DecodeError::InvalidField {
                field: "closed",
                found: 2,
                ..
            })
        ));
    }

    #[test]
    fn session_set_keeps_each_handshake_id_and_pending_flag() {
        let bytes = two_entries().to_vec();
        let back = SessionSetFrame::decode(&bytes).unwrap();
        let got: Vec<_> = back
            .entries
            .iter()
            .map(|e| (e.handshake_id, e.pending))
            .collect();
        assert_eq!(got, vec![([8; KEY_LEN], true), ([4; KEY_LEN], false)]);
        assert_eq!(bytes[7 + 16..7 + 16 + 32], [8; KEY_LEN]);
        assert_eq!(bytes[7 + 16 + 32], 1);
    }

    #[test]
    fn the_retired_layouts_are_refused_by_type() {
        // 0x33: without routing keys; 0x37: without handshake ids; 0x38:
        // without the closed flag.
        for retired in [0x33, 0x37, 0x38] {
            let mut bytes = two_entries().to_vec();
            bytes[1] = retired;
            assert!(matches!(
                SessionSetFrame::decode(&bytes),
                Err(DecodeError::UnexpectedType { found, .. }) if found == retired
            ));
        }
    }

    #[test]
    fn sealed_needs_a_tag() {
        let tagged = [5; TAG_LEN + 3];
        let frame = SealedFrame {
            key_id: 9,
            nonce: [3; SEAL_NONCE_LEN],
            ciphertext: &tagged,
        };
        let whole = frame.to_vec();
        assert_eq!(whole.len(), frame.encoded_len());
        assert_eq!(
            whole[..SEAL_HEADER_LEN],
            SealedFrame::header(9, &[3; SEAL_NONCE_LEN])[..]
        );
        assert_eq!(SealedFrame::decode(&whole).unwrap().ciphertext, &tagged);
        let mut bytes = SealedFrame::header(9, &[3; SEAL_NONCE_LEN]);
        bytes.extend_from_slice(&[0; TAG_LEN - 1]);
        assert!(SealedFrame::decode(&bytes).is_err());
        bytes.push(0);
        let frame = SealedFrame::decode(&bytes).unwrap();
        assert_eq!(frame.key_id, 9);
        assert_eq!(frame.ciphertext.len(), TAG_LEN);
    }
}
