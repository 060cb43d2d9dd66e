//! Routing without decryption: what a server may read from message bytes,
//! pairwise and group.

use crate::GroupId;
use crate::error::{DecodeError, WireType};
use crate::limits::{
    MAX_GROUP_MESSAGE_LEN, MAX_MESSAGE_LEN, MIN_GROUP_MESSAGE_LEN, MIN_MESSAGE_LEN,
};
use crate::wire::{self, Frame, MessageKind};

/// The ids of the three prekeys a session was set up with: those a
/// [`PreKeyMessage`](crate::PreKeyMessage) names, and those a
/// [`TakenBundle`](super::TakenBundle) handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PreKeyIds {
    signed_prekey_id: u32,
    one_time_prekey_id: Option<u32>,
    kem_prekey_id: u32,
}

impl PreKeyIds {
    pub(crate) fn new(
        signed_prekey_id: u32,
        one_time_prekey_id: Option<u32>,
        kem_prekey_id: u32,
    ) -> Self {
        PreKeyIds {
            signed_prekey_id,
            one_time_prekey_id,
            kem_prekey_id,
        }
    }

    /// The signed prekey's id.
    pub fn signed_prekey_id(&self) -> u32 {
        self.signed_prekey_id
    }

    /// The one-time X25519 prekey's id, if one was used.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.one_time_prekey_id
    }

    /// The ML-KEM prekey's id (one-time or last-resort: they share one id space).
    pub fn kem_prekey_id(&self) -> u32 {
        self.kem_prekey_id
    }
}

/// What [`route`] tells a server about a message: what delivery needs, and
/// nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteInfo {
    kind: MessageKind,
    version: u8,
    size: usize,
    prekeys: Option<PreKeyIds>,
}

impl RouteInfo {
    /// Whether the message is a `PreKeyMessage` (it sets up a session) or a
    /// ratchet `Message`.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The protocol version (the first byte).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The message's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// For a `PreKeyMessage`, the ids of the recipient's prekeys it used,
    /// so the server can account for them; `None` for a `Message`.
    pub fn prekeys(&self) -> Option<PreKeyIds> {
        self.prekeys
    }
}

/// Reads what a server needs to deliver a message, without decrypting
/// anything and without any key: the kind, the version, the size and,
/// for a `PreKeyMessage`, the prekey ids it used.
///
/// Input longer than [`MAX_MESSAGE_LEN`] is refused before a byte of it is
/// read. Then the whole encoding is checked with the wire layer alone —
/// version, type, suite, flags, the ciphertext length against its bound,
/// no trailing bytes — so a server can drop malformed messages instead of
/// storing and forwarding them. Keys are not validated (that needs no
/// secret, but costs field arithmetic the recipient does anyway), and the
/// ciphertext is not authenticated: only the recipient can tell whether a
/// message is genuine. See `docs/SERVER.md` for everything else a server
/// can and cannot learn from message bytes.
///
/// # Errors
/// [`Error::Decode`](crate::Error::Decode): `LengthOutOfRange` (with
/// [`WireType::Message`]) for oversize input, then as the message decoders.
pub fn route(bytes: &[u8]) -> crate::Result<RouteInfo> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::LengthOutOfRange {
            wire_type: WireType::Message,
            min: MIN_MESSAGE_LEN,
            max: MAX_MESSAGE_LEN,
            found: bytes.len(),
        }
        .into());
    }
    // The structure, copying nothing (the ciphertext is not needed here).
    let (kind, prekeys) = wire::check_structure(bytes)?;
    let prekeys = prekeys.map(|p| PreKeyIds {
        signed_prekey_id: p.signed_prekey_id,
        one_time_prekey_id: p.one_time_prekey_id,
        kem_prekey_id: p.kem_prekey_id,
    });
    Ok(RouteInfo {
        kind,
        version: wire::PROTOCOL_VERSION,
        size: bytes.len(),
        prekeys,
    })
}

/// What [`route_group`] tells a server about a group message: the group
/// it belongs to (to find whom to fan it out to) and its size, and nothing
/// else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupRouteInfo {
    group_id: GroupId,
    epoch: u64,
    size: usize,
}

impl GroupRouteInfo {
    /// The group the message is for.
    pub fn group_id(&self) -> GroupId {
        self.group_id
    }

    /// The membership epoch the sender sent it under (PROTOCOL.md §16.1).
    /// A server that keeps each group's current epoch may hold back a
    /// message of an older one; members refuse it anyway.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The message's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
}

/// Reads what a server needs to fan a group message out (PROTOCOL.md
/// §16.1), without any key and without verifying anything: the group id,
/// the epoch and the size. Input longer than
/// [`MAX_GROUP_MESSAGE_LEN`](crate::MAX_GROUP_MESSAGE_LEN) is refused
/// before it is read; then the whole encoding is checked by the wire
/// layer (version, type, suite, the ciphertext length against its bound,
/// no trailing bytes), so malformed messages are dropped, not fanned out.
///
/// # Security
/// Whom to deliver to is the server's own record of the group's members
/// and their devices; the members decide for themselves who is in the
/// group (PROTOCOL.md §16.5–§16.8), so delivering to a device that is not
/// a member gives it nothing it can decrypt, and leaving one out only
/// withholds. The signature is not checked here: only members can tell a
/// genuine sender (the key id and iteration are opaque to the server).
///
/// # Errors
/// [`Error::Decode`](crate::Error::Decode) with
/// [`WireType::GroupMessage`]: `LengthOutOfRange` for oversize input, then
/// the decoder's structure errors.
pub fn route_group(bytes: &[u8]) -> crate::Result<GroupRouteInfo> {
    if bytes.len() > MAX_GROUP_MESSAGE_LEN {
        return Err(DecodeError::LengthOutOfRange {
            wire_type: WireType::GroupMessage,
            min: MIN_GROUP_MESSAGE_LEN,
            max: MAX_GROUP_MESSAGE_LEN,
            found: bytes.len(),
        }
        .into());
    }
    let frame = wire::GroupMessageFrame::decode(bytes)?;
    Ok(GroupRouteInfo {
        group_id: GroupId::from_bytes(frame.header.group_id),
        epoch: frame.header.epoch,
        size: bytes.len(),
    })
}
