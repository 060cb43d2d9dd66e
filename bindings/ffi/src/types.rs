//! The values that cross the boundary: addresses, envelopes and reports,
//! as plain records of bytes and numbers. None of them holds a secret; a
//! plaintext is in a record only where the app decrypted it.

use kinseal::client as kc;

use crate::error::{KinsealError, Result};

/// One person in one app: the app's id and the user's id in it (bytes,
/// as the app spells them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct UserAddress {
    /// The app, e.g. `b"chirp"`.
    pub app_id: Vec<u8>,
    /// The user in that app, e.g. `b"alice@example.org"`.
    pub user_id: Vec<u8>,
}

/// One device of one person in one app.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct DeviceAddress {
    /// The app.
    pub app_id: Vec<u8>,
    /// The user in that app.
    pub user_id: Vec<u8>,
    /// The device, as numbered on its user's device list.
    pub device_id: u32,
}

impl UserAddress {
    pub(crate) fn to_core(&self) -> Result<kc::UserAddress> {
        Ok(kc::UserAddress::new(&self.app_id, &self.user_id)?)
    }
}

impl DeviceAddress {
    pub(crate) fn to_core(&self) -> Result<kc::DeviceAddress> {
        Ok(kc::DeviceAddress::new(
            &self.app_id,
            &self.user_id,
            self.device_id,
        )?)
    }
}

impl From<&kc::UserAddress> for UserAddress {
    fn from(a: &kc::UserAddress) -> Self {
        UserAddress {
            app_id: a.app_id().to_vec(),
            user_id: a.user_id().to_vec(),
        }
    }
}

impl From<&kc::DeviceAddress> for DeviceAddress {
    fn from(a: &kc::DeviceAddress) -> Self {
        DeviceAddress {
            app_id: a.app_id().to_vec(),
            user_id: a.user_id().to_vec(),
            device_id: a.device_id(),
        }
    }
}

pub(crate) fn users(users: &[UserAddress]) -> Result<Vec<kc::UserAddress>> {
    users.iter().map(UserAddress::to_core).collect()
}

pub(crate) fn devices_out(devices: &[kc::DeviceAddress]) -> Vec<DeviceAddress> {
    devices.iter().map(DeviceAddress::from).collect()
}

pub(crate) fn users_out(users: &[kc::UserAddress]) -> Vec<UserAddress> {
    users.iter().map(UserAddress::from).collect()
}

/// A fixed-size array from the app's bytes, or `InvalidArgument`.
pub(crate) fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| {
        KinsealError::invalid(format!("{what} must be {N} bytes, not {}", bytes.len()))
    })
}

pub(crate) fn identity_key(bytes: &[u8]) -> Result<kinseal::IdentityKey> {
    Ok(kinseal::IdentityKey::from_bytes(&array(
        bytes,
        "an identity key",
    )?)?)
}

pub(crate) fn user_key(bytes: &[u8]) -> Result<kinseal::UserIdentityKey> {
    Ok(kinseal::UserIdentityKey::from_bytes(&array(
        bytes,
        "a user identity key",
    )?)?)
}

pub(crate) fn group_id(bytes: &[u8]) -> Result<kinseal::GroupId> {
    Ok(kinseal::GroupId::from_bytes(array(bytes, "a group id")?))
}

/// A message with its routing: who sent it, to which device, and the
/// envelope's encoding (what the app hands its server).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Envelope {
    /// The sending device.
    pub sender: DeviceAddress,
    /// The device it is for.
    pub recipient: DeviceAddress,
    /// The envelope's encoding: pass it to `decrypt_envelope` on the
    /// recipient.
    pub bytes: Vec<u8>,
    /// The pairwise message inside (what `encrypt` returns), for apps
    /// that carry the addresses themselves.
    pub message: Vec<u8>,
}

impl From<&kinseal::Envelope> for Envelope {
    fn from(e: &kinseal::Envelope) -> Self {
        Envelope {
            sender: e.sender().into(),
            recipient: e.recipient().into(),
            bytes: e.to_bytes(),
            message: e.message().to_vec(),
        }
    }
}

/// Decodes an envelope's bytes into its routing (a server reads the
/// recipient from it; it cannot read the message).
#[uniffi::export]
pub fn decode_envelope(bytes: Vec<u8>) -> Result<Envelope> {
    Ok(Envelope::from(&kinseal::Envelope::from_bytes(&bytes)?))
}

/// How a peer's identity key relates to the one on record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum IdentityStatus {
    /// The key on record.
    Known,
    /// No key was on record; this one now is.
    New,
    /// The key replaced another one: show the user that the safety number
    /// changed.
    Changed {
        /// The key that was on record.
        previous: Vec<u8>,
    },
}

impl From<&kc::IdentityStatus> for IdentityStatus {
    fn from(s: &kc::IdentityStatus) -> Self {
        match s {
            kc::IdentityStatus::Known => IdentityStatus::Known,
            kc::IdentityStatus::New => IdentityStatus::New,
            kc::IdentityStatus::Changed { previous } => IdentityStatus::Changed {
                previous: previous.to_bytes().to_vec(),
            },
        }
    }
}

/// What a group-control message did to this device's groups.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum GroupEvent {
    /// This device now has the group.
    Joined {
        /// The group.
        group: Vec<u8>,
        /// Its epoch.
        epoch: u64,
    },
    /// An admin changed the group.
    Changed {
        /// The group.
        group: Vec<u8>,
        /// The new epoch.
        epoch: u64,
        /// Users the change added.
        added: Vec<UserAddress>,
        /// Users the change removed (this user, if it was removed).
        removed: Vec<UserAddress>,
        /// Whether it replaced a concurrent change this device had applied.
        replaced: bool,
    },
    /// Nothing changed.
    Unchanged {
        /// The group.
        group: Vec<u8>,
    },
    /// A device's sender key arrived: its group messages that failed with
    /// `Group(UnknownSenderKey)` decrypt now.
    SenderKey {
        /// The group.
        group: Vec<u8>,
        /// The device whose key it is.
        sender: DeviceAddress,
    },
    /// An event this version of the bindings does not know.
    Other,
}

impl From<&kc::GroupEvent> for GroupEvent {
    fn from(e: &kc::GroupEvent) -> Self {
        match e {
            kc::GroupEvent::Joined { group, epoch } => GroupEvent::Joined {
                group: group.as_bytes().to_vec(),
                epoch: *epoch,
            },
            kc::GroupEvent::Changed {
                group,
                epoch,
                added,
                removed,
                replaced,
            } => GroupEvent::Changed {
                group: group.as_bytes().to_vec(),
                epoch: *epoch,
                added: users_out(added),
                removed: users_out(removed),
                replaced: *replaced,
            },
            kc::GroupEvent::Unchanged { group } => GroupEvent::Unchanged {
                group: group.as_bytes().to_vec(),
            },
            kc::GroupEvent::SenderKey { group, sender } => GroupEvent::SenderKey {
                group: group.as_bytes().to_vec(),
                sender: sender.into(),
            },
            _ => GroupEvent::Other,
        }
    }
}

/// A decrypted pairwise message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Decrypted {
    /// The device it came from.
    pub sender: DeviceAddress,
    /// What the sender wrote (empty for a group-control message).
    pub plaintext: Vec<u8>,
    /// How the sender's identity key relates to the one on record.
    pub identity: IdentityStatus,
    /// Whether the message started a new session.
    pub new_session: bool,
    /// For a group-control message: what it did.
    pub group_event: Option<GroupEvent>,
}

impl Decrypted {
    pub(crate) fn new(sender: &kc::DeviceAddress, d: &kc::Decrypted) -> Self {
        Decrypted {
            sender: sender.into(),
            plaintext: d.plaintext().to_vec(),
            identity: d.identity().into(),
            new_session: d.new_session(),
            group_event: d.group_event().map(GroupEvent::from),
        }
    }
}

/// One message to many devices: an envelope each, and who was not reached.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FanOut {
    /// One envelope per device reached; hand each to the server.
    pub envelopes: Vec<Envelope>,
    /// Listed devices without a session (run `sync_sessions` first).
    pub missing: Vec<DeviceAddress>,
    /// Users whose device list is not on record.
    pub unreachable: Vec<UserAddress>,
}

impl From<&kc::FanOut> for FanOut {
    fn from(f: &kc::FanOut) -> Self {
        FanOut {
            envelopes: f.envelopes().iter().map(Envelope::from).collect(),
            missing: devices_out(f.missing()),
            unreachable: users_out(f.unreachable()),
        }
    }
}

/// A session `sync_sessions` started.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StartedSession {
    /// The device.
    pub device: DeviceAddress,
    /// How its identity key relates to the one on record.
    pub identity: IdentityStatus,
}

/// A device `sync_sessions` could not start a session with.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FailedSession {
    /// The device.
    pub device: DeviceAddress,
    /// Why.
    pub error: KinsealError,
}

/// What `sync_sessions` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Sessions started.
    pub started: Vec<StartedSession>,
    /// Devices that failed (the others went on).
    pub failed: Vec<FailedSession>,
}

impl From<&kc::SyncReport> for SyncReport {
    fn from(r: &kc::SyncReport) -> Self {
        SyncReport {
            started: r
                .started()
                .iter()
                .map(|(d, s)| StartedSession {
                    device: d.into(),
                    identity: s.into(),
                })
                .collect(),
            failed: r
                .failed()
                .iter()
                .map(|(d, e)| FailedSession {
                    device: d.into(),
                    error: e.clone().into(),
                })
                .collect(),
        }
    }
}

/// One device on a device list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ListedDevice {
    /// The device.
    pub address: DeviceAddress,
    /// Its identity key.
    pub identity_key: Vec<u8>,
    /// When it was added, in seconds.
    pub added_at: u64,
}

/// A user's signed device list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceList {
    /// Its encoding: what the directory publishes.
    pub bytes: Vec<u8>,
    /// Whose list it is.
    pub user: UserAddress,
    /// Its version (1 for a new user, then one more per change).
    pub version: u64,
    /// The user identity key that signed it.
    pub user_key: Vec<u8>,
    /// The devices on it.
    pub devices: Vec<ListedDevice>,
}

impl From<&kinseal::VerifiedDeviceList> for DeviceList {
    fn from(l: &kinseal::VerifiedDeviceList) -> Self {
        let user = l.address();
        DeviceList {
            bytes: l.to_bytes(),
            user: user.into(),
            version: l.version(),
            user_key: l.user_key().to_bytes().to_vec(),
            devices: l
                .devices()
                .map(|d| ListedDevice {
                    address: (&user.device(d.device_id())).into(),
                    identity_key: d.identity_key().to_bytes().to_vec(),
                    added_at: d.added_at(),
                })
                .collect(),
        }
    }
}

/// What taking a user's device lists on record changed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceListChange {
    /// The user.
    pub user: UserAddress,
    /// The version now on record.
    pub version: u64,
    /// Whether no list was on record for the user before.
    pub is_new_user: bool,
    /// The user key before, when it changed.
    pub previous_user_key: Option<Vec<u8>>,
    /// Devices added.
    pub added: Vec<DeviceAddress>,
    /// Devices removed.
    pub removed: Vec<DeviceAddress>,
    /// Devices whose identity key was replaced (a reinstall).
    pub replaced: Vec<DeviceAddress>,
}

impl From<&kc::DeviceListChange> for DeviceListChange {
    fn from(c: &kc::DeviceListChange) -> Self {
        DeviceListChange {
            user: c.user().into(),
            version: c.version(),
            is_new_user: c.is_new_user(),
            previous_user_key: c.previous_user_key().map(|k| k.to_bytes().to_vec()),
            added: devices_out(c.added()),
            removed: devices_out(c.removed()),
            replaced: devices_out(c.replaced()),
        }
    }
}

/// A peer device's identity key on record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KnownIdentity {
    /// The key.
    pub key: Vec<u8>,
    /// Whether the user verified it (a scanned safety number).
    pub verified: bool,
    /// When it was first seen, in seconds.
    pub first_seen: u64,
}

impl From<&kc::KnownIdentity> for KnownIdentity {
    fn from(k: &kc::KnownIdentity) -> Self {
        KnownIdentity {
            key: k.key().to_bytes().to_vec(),
            verified: k.is_verified(),
            first_seen: k.first_seen(),
        }
    }
}

/// A peer user's key and device list on record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KnownUser {
    /// The user identity key.
    pub key: Vec<u8>,
    /// Whether it was verified.
    pub verified: bool,
    /// When it was first seen, in seconds.
    pub first_seen: u64,
    /// The latest device list on record.
    pub device_list: DeviceList,
}

impl From<&kc::KnownUser> for KnownUser {
    fn from(k: &kc::KnownUser) -> Self {
        KnownUser {
            key: k.key().to_bytes().to_vec(),
            verified: k.is_verified(),
            first_seen: k.first_seen(),
            device_list: k.device_list().into(),
        }
    }
}

/// Counts of one-time prekeys (the directory reports what it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PreKeyCounts {
    /// One-time X25519 prekeys.
    pub one_time: u64,
    /// One-time ML-KEM prekeys.
    pub kem: u64,
}

impl PreKeyCounts {
    pub(crate) fn to_core(self) -> kinseal::PreKeyCounts {
        let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        kinseal::PreKeyCounts::new(clamp(self.one_time), clamp(self.kem))
    }
}

impl From<kinseal::PreKeyCounts> for PreKeyCounts {
    fn from(c: kinseal::PreKeyCounts) -> Self {
        PreKeyCounts {
            one_time: c.one_time() as u64,
            kem: c.kem() as u64,
        }
    }
}

/// A group member.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupMember {
    /// The member's user.
    pub user: UserAddress,
    /// The member's user identity key.
    pub user_key: Vec<u8>,
    /// Whether the member may change the membership.
    pub admin: bool,
}

/// A group's current state on this device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupState {
    /// The group's id.
    pub group: Vec<u8>,
    /// Its epoch: 0 at creation, one more per change.
    pub epoch: u64,
    /// Its members.
    pub members: Vec<GroupMember>,
}

impl From<&kinseal::GroupState> for GroupState {
    fn from(s: &kinseal::GroupState) -> Self {
        GroupState {
            group: s.group_id().as_bytes().to_vec(),
            epoch: s.epoch(),
            members: s
                .members()
                .map(|m| GroupMember {
                    user: m.address().into(),
                    user_key: m.key().to_bytes().to_vec(),
                    admin: m.role() == kinseal::GroupRole::Admin,
                })
                .collect(),
        }
    }
}

/// A group created by `create_group`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupCreated {
    /// The new group's id.
    pub group: Vec<u8>,
    /// The welcome envelopes to the members' devices.
    pub fan_out: FanOut,
}

/// A group message from `group_send`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupSend {
    /// The group message: one copy for the server to fan out to every
    /// device of the group.
    pub message: Vec<u8>,
    /// Sender-key envelopes to hand the server first.
    pub distributions: FanOut,
}

/// A decrypted group message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupDecrypted {
    /// The group.
    pub group: Vec<u8>,
    /// The device that sent it.
    pub sender: DeviceAddress,
    /// What it says.
    pub plaintext: Vec<u8>,
}

impl From<&kc::GroupDecrypted> for GroupDecrypted {
    fn from(d: &kc::GroupDecrypted) -> Self {
        GroupDecrypted {
            group: d.group().as_bytes().to_vec(),
            sender: d.sender().into(),
            plaintext: d.plaintext().to_vec(),
        }
    }
}

/// What `link_device` produced: the device list that names the new device
/// (publish it) and the provisioning message (relay it to the new device).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LinkedDevice {
    /// The new device list.
    pub device_list: DeviceList,
    /// The sealed provisioning message for the new device.
    pub provisioning_message: Vec<u8>,
}

/// Which message a decryption-error receipt is about: compare it with
/// `failed_message_of(envelope.message)` of the envelopes sent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FailedMessage {
    /// A ratchet message.
    Message {
        /// Its ratchet key.
        ratchet_key: Vec<u8>,
        /// Its index in its chain.
        index: u32,
        /// Its previous chain length.
        previous_length: u32,
    },
    /// A `PreKeyMessage`.
    PreKey {
        /// Its handshake id.
        handshake_id: Vec<u8>,
    },
    /// A kind this version of the bindings does not know.
    Other,
}

impl From<&kinseal::FailedMessage> for FailedMessage {
    fn from(f: &kinseal::FailedMessage) -> Self {
        match f {
            kinseal::FailedMessage::Message {
                ratchet_key,
                index,
                previous_length,
            } => FailedMessage::Message {
                ratchet_key: ratchet_key.to_vec(),
                index: *index,
                previous_length: *previous_length,
            },
            kinseal::FailedMessage::PreKey { handshake_id } => FailedMessage::PreKey {
                handshake_id: handshake_id.as_bytes().to_vec(),
            },
            #[allow(unreachable_patterns)]
            _ => FailedMessage::Other,
        }
    }
}

/// The locator of a pairwise message (`Envelope.message`), to find the
/// one a receipt names.
#[uniffi::export]
pub fn failed_message_of(message: Vec<u8>) -> Result<FailedMessage> {
    Ok(FailedMessage::from(&kinseal::FailedMessage::of(&message)?))
}

/// What `decrypt_envelope_or_receipt` got.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DecryptOutcome {
    /// It decrypted.
    Decrypted {
        /// The message.
        message: Decrypted,
    },
    /// It did not; `receipt`, when there is one, goes back to the sender
    /// through the server (rate-limit them per sender device).
    Failed {
        /// Why it failed.
        error: KinsealError,
        /// The signed decryption-error receipt, if the error calls for one.
        receipt: Option<Vec<u8>>,
    },
}

/// What `handle_receipt` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptOutcome {
    /// The device that could not decrypt.
    pub device: DeviceAddress,
    /// Whether the receipt closed the current session with it (else the
    /// session was already closed or replaced): the next message starts a
    /// new one after `sync_sessions`.
    pub session_closed: bool,
    /// The message it could not decrypt: send what it held again.
    pub failed: FailedMessage,
}
