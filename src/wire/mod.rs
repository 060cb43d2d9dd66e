//! The wire format: bytes in, typed frames out, and back.
//!
//! This layer knows byte layouts and nothing else: it holds no keys, does no
//! cryptography and keeps no state. Every decoder reads the version byte
//! first, checks every length against its documented bound, and rejects
//! trailing bytes, so that for every accepted input `b`,
//! `encode(decode(b)) == b`. Key bytes are carried as fixed-size arrays;
//! whether they are valid keys is decided one layer up.
//!
//! All integers are big-endian.

mod account_link;
mod address;
mod bundle;
mod codec;
mod content;
mod counts;
mod device_list;
mod envelope;
mod group_message;
mod group_records;
mod group_state;
mod group_store;
mod key_pairs;
mod link;
mod message;
mod padding;
mod receipt;
mod safety;
mod session;
mod split_store;
mod store;
mod upload;

pub(crate) use account_link::{
    ACCOUNT_LINK_HASH_LEN, AccountLinkBodyFrame, AccountLinkFrame, AccountLinkProposalFrame,
    LinkRevocationFrame, LinkedAccountFrame,
};
pub(crate) use address::{DeviceAddressFrame, UserAddressFrame};
pub(crate) use bundle::{BundleFrame, KemPreKeyFrame, OneTimePreKeyFrame, SignedPreKeyFrame};
pub(crate) use codec::{Frame, Reader, Writer};
pub(crate) use content::ContentFrame;
pub(crate) use counts::PreKeyCountsFrame;
pub(crate) use device_list::{
    DEVICE_LIST_HASH_LEN, DeviceEntryFrame, DeviceListBodyFrame, DeviceListFrame,
};
pub(crate) use envelope::{EnvelopeFrame, check_message, check_structure};
pub(crate) use group_message::{GroupHeaderFrame, GroupMessageFrame, SenderKeyDistributionFrame};
pub(crate) use group_records::{ReceivedSenderKeyFrame, SenderKeyRecordFrame};
pub(crate) use group_state::{
    GROUP_HASH_LEN, GroupChangeBodyFrame, GroupChangeFrame, GroupMemberFrame, GroupOpFrame,
    GroupStateFrame, ROLE_ADMIN, ROLE_MEMBER,
};
pub(crate) use group_store::{GroupRecordFrame, GroupSenderKeysFrame, OwnSenderKeyFrame};
pub(crate) use key_pairs::{KemPreKeyPairFrame, OneTimePreKeyPairFrame, SignedPreKeyPairFrame};
pub(crate) use link::{LinkCodeFrame, ProvisioningFrame, ProvisioningPayloadFrame};
pub(crate) use message::{
    Body, HEADER_TAG_LEN, MessageFrame, MessageView, PreKeyFrame, PreKeyMessageFrame,
    RECEIVER_HINT_LEN, TAGGED_LEN, encode_prekey_prefix, peek_kind,
};
pub(crate) use padding::{pad_into, padme, round_up, unpadded_len};
pub use receipt::ReceiptReason;
pub(crate) use receipt::{FailedMessageFrame, ReceiptBodyFrame, ReceiptFrame};
pub(crate) use safety::{
    FINGERPRINT_LEN, Fingerprint, SAFETY_NUMBER_DEVICE_VERSION, SAFETY_NUMBER_USER_VERSION,
    SafetyNumberFrame,
};
#[cfg(test)]
pub(crate) use session::revision_1;
pub(crate) use session::{
    ChainFrame, IdentityForms, PendingPreKeyFrame, RatchetFrame, RatchetKeyFrame, SendingFrame,
    SessionFrame, SkippedFrame,
};
pub(crate) use split_store::{
    MAX_PATCH_BYTES, MAX_PATCH_RUNS, PatchRun, RecordPatchFrame, SplitSealedFrame,
};
pub(crate) use store::{
    AccountFrame, MAX_SEALED_PLAINTEXT_LEN, PeerIdentityFrame, PeerUserFrame, SealedFrame,
    SessionEntryFrame, SessionSetFrame,
};
pub(crate) use upload::{UploadBodyFrame, UploadFrame};

/// The protocol version this build speaks, the first byte of every encoding.
pub const PROTOCOL_VERSION: u8 = 1;

/// The cipher suite of protocol version 1, and its only one: X25519 and
/// ML-KEM-768 hybrid key agreement, Ed25519 signatures, HKDF/HMAC-SHA-256,
/// ChaCha20-Poly1305. Carried on the wire so a later version can negotiate
/// another; an unknown suite is rejected, and there is no classical-only
/// suite to downgrade to.
pub const SUITE_V1: u8 = 0x01;

pub use crate::limits::{
    DEVICE_LIST_ENTRY_LEN, LINK_CODE_LEN, MAX_CIPHERTEXT_LEN, MAX_DEVICE_ADDRESS_LEN,
    MAX_DEVICE_LIST_LEN, MAX_DEVICES_PER_USER, MAX_ENVELOPE_LEN, MAX_PADDED_LEN, MAX_PLAINTEXT_LEN,
    MAX_PROVISIONING_CIPHERTEXT_LEN, MAX_PROVISIONING_MESSAGE_LEN, MAX_RECEIPT_LEN,
    MAX_USER_ADDRESS_LEN, MIN_CIPHERTEXT_LEN, MIN_DEVICE_ADDRESS_LEN, MIN_DEVICE_LIST_LEN,
    MIN_ENVELOPE_LEN, MIN_PROVISIONING_CIPHERTEXT_LEN, MIN_PROVISIONING_MESSAGE_LEN,
    MIN_RECEIPT_LEN, MIN_USER_ADDRESS_LEN, PREKEY_COUNTS_LEN,
};
pub use crate::limits::{
    LINK_REVOCATION_LEN, MAX_ACCOUNT_LINK_LEN, MAX_ACCOUNT_LINK_PROPOSAL_LEN, MIN_ACCOUNT_LINK_LEN,
    MIN_ACCOUNT_LINK_PROPOSAL_LEN,
};
pub use crate::limits::{
    MAX_GROUP_CHANGE_LEN, MAX_GROUP_CHANGE_OPS, MAX_GROUP_MEMBERS, MAX_GROUP_STATE_LEN,
    MIN_GROUP_CHANGE_LEN, MIN_GROUP_STATE_LEN,
};
pub use crate::sizes::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, KEY_LEN, SIGNATURE_LEN, TAG_LEN};

// Every type byte, in one table: the second byte of every encoding, after
// the version. No two layouts share one, so bytes of one kind never decode
// as another. 0x0_ are messages and bundles, 0x10 and 0x11 the session state's two
// revisions, 0x2_
// what a device and its server exchange about prekeys (the upload, the
// counts), 0x3_ the client's records at rest, 0x40 the safety number,
// 0x5_ who is who (the addresses, 0x52 the device list, 0x53 ..= 0x55
// linking a device, 0x56 ..= 0x58 the account links; 0x59 ..= 0x5f are
// kept for the records that sign or link user identities), 0x6_ delivery
// (0x60 the envelope, 0x61 the decryption-error receipt that travels next
// to it; 0x62 ..= 0x6f kept for more of that kind), 0x7_ groups (0x70 ..=
// 0x7f kept for group messages, sender-key distributions, group states
// and their changes: PROTOCOL.md §16).

/// The type byte of a ratchet [`Message`](crate::Message).
pub(crate) const TYPE_MESSAGE: u8 = 0x01;
/// The type byte of a [`PreKeyMessage`](crate::PreKeyMessage).
pub(crate) const TYPE_PREKEY_MESSAGE: u8 = 0x02;
/// The type byte of a [`PreKeyBundle`](crate::PreKeyBundle).
pub(crate) const TYPE_BUNDLE: u8 = 0x03;
/// The type byte of a serialized [`Session`](crate::Session): revision 2,
/// which also stores the values derived from its keys (PROTOCOL.md §4.4).
pub(crate) const TYPE_SESSION_STATE: u8 = 0x11;
/// The type byte of a session state of revision 1, which stores only the
/// keys: still read (its keys are validated and the rest derived), no
/// longer written.
pub(crate) const TYPE_SESSION_STATE_REV1: u8 = 0x10;
/// The type byte of a [`PreKeyUpload`](crate::PreKeyUpload).
pub const TYPE_PREKEY_UPLOAD: u8 = 0x20;
/// The type byte of a [`PreKeyCounts`](crate::PreKeyCounts).
pub const TYPE_PREKEY_COUNTS: u8 = 0x21;
/// The type byte of a record sealed under a storage key ([`SealedFrame`]).
pub(crate) const TYPE_SEALED: u8 = 0x30;
/// The type byte of an [`AccountFrame`]. (`0x31` was the account record
/// before it held the user key and the device's own address; retired.)
pub(crate) const TYPE_ACCOUNT: u8 = 0x39;
/// The type byte of a [`PeerIdentityFrame`].
pub(crate) const TYPE_PEER_IDENTITY: u8 = 0x32;
/// The type byte of a [`SessionSetFrame`]. (`0x33` was the session set
/// before its entries carried routing keys, `0x37` before they carried
/// handshake ids and pending flags, `0x38` before the set carried its
/// *closed* flag; all are retired, never reused, so a record in an old
/// layout is refused by its type.)
pub(crate) const TYPE_SESSION_SET: u8 = 0x3b;
/// The type byte of a [`PeerUserFrame`].
pub(crate) const TYPE_PEER_USER: u8 = 0x3a;
/// The type byte of a [`SignedPreKeyPairFrame`].
pub(crate) const TYPE_SIGNED_PREKEY_PAIR: u8 = 0x34;
/// The type byte of a [`OneTimePreKeyPairFrame`].
pub(crate) const TYPE_ONE_TIME_PREKEY_PAIR: u8 = 0x35;
/// The type byte of a [`KemPreKeyPairFrame`].
pub(crate) const TYPE_KEM_PREKEY_PAIR: u8 = 0x36;
/// The type byte of a safety number's QR payload ([`SafetyNumberFrame`]).
pub(crate) const TYPE_SAFETY_NUMBER: u8 = 0x40;
/// The type byte of a [`UserAddress`](crate::UserAddress) on its own.
pub const TYPE_USER_ADDRESS: u8 = 0x50;
/// The type byte of a [`DeviceAddress`](crate::DeviceAddress) on its own.
pub const TYPE_DEVICE_ADDRESS: u8 = 0x51;
/// The type byte of an [`Envelope`](crate::Envelope).
pub const TYPE_ENVELOPE: u8 = 0x60;
/// The type byte of a [`DeviceList`](crate::DeviceList).
pub const TYPE_DEVICE_LIST: u8 = 0x52;
/// The type byte of a link code, the QR payload of a new device
/// (PROTOCOL.md §13.2).
pub const TYPE_LINK_CODE: u8 = 0x53;
/// The type byte of a provisioning message (PROTOCOL.md §13.3).
pub const TYPE_PROVISIONING_MESSAGE: u8 = 0x54;
/// The type byte of a provisioning message's payload, which only ever
/// exists encrypted ([`ProvisioningPayloadFrame`]).
pub(crate) const TYPE_PROVISIONING_PAYLOAD: u8 = 0x55;
/// The type byte of a [`DecryptionErrorReceipt`](crate::DecryptionErrorReceipt).
pub const TYPE_RECEIPT: u8 = 0x61;
/// The type byte of an [`AccountLink`](crate::AccountLink).
pub const TYPE_ACCOUNT_LINK: u8 = 0x56;
/// The type byte of a [`LinkRevocation`](crate::LinkRevocation).
pub const TYPE_LINK_REVOCATION: u8 = 0x57;
/// The type byte of an [`AccountLinkProposal`](crate::AccountLinkProposal).
pub const TYPE_ACCOUNT_LINK_PROPOSAL: u8 = 0x58;
/// The type byte of a stored [`GroupState`](crate::GroupState)
/// (PROTOCOL.md §16.5).
pub const TYPE_GROUP_STATE: u8 = 0x72;
/// The type byte of a [`GroupChange`](crate::GroupChange) (PROTOCOL.md §16.6).
pub const TYPE_GROUP_CHANGE: u8 = 0x73;

/// The type byte of a group message (PROTOCOL.md §16.1).
pub const TYPE_GROUP_MESSAGE: u8 = 0x70;
/// The type byte of a sender-key distribution (PROTOCOL.md §16.2).
pub const TYPE_SENDER_KEY_DISTRIBUTION: u8 = 0x71;
/// The type byte of a sending device's sender-key record (§16.4).
pub(crate) const TYPE_SENDER_KEY_RECORD: u8 = 0x74;
/// The type byte of a receiving device's record of another's sender key (§16.4).
pub(crate) const TYPE_RECEIVED_SENDER_KEY: u8 = 0x75;
/// The type byte of an account's pairwise plaintext (PROTOCOL.md §17).
pub const TYPE_CONTENT: u8 = 0x62;
/// The type byte of a client's group record ([`GroupRecordFrame`]).
pub(crate) const TYPE_GROUP_RECORD: u8 = 0x3c;
/// The type byte of a client's record of one device's sender keys for
/// one group ([`GroupSenderKeysFrame`]).
pub(crate) const TYPE_GROUP_SENDER_KEYS: u8 = 0x3d;
/// The type byte of a record kept as two seals, a cold one and a hot
/// patch ([`SplitSealedFrame`]).
pub(crate) const TYPE_SPLIT_SEALED: u8 = 0x3e;
/// The type byte of the patch in a split record's hot seal
/// ([`RecordPatchFrame`]).
pub(crate) const TYPE_RECORD_PATCH: u8 = 0x3f;

/// Which kind of message some bytes hold, from their first two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// A ratchet [`Message`](crate::Message).
    Message,
    /// A [`PreKeyMessage`](crate::PreKeyMessage), which sets up a session.
    PreKeyMessage,
}
