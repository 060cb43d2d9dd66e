//! The client layer's kinds: the account's state, and trust in peers.
//!
//! `TrustError` carries the identity keys (device or user) it is about, so
//! that the app can show them and accept one: the only types from above the
//! ground floor that an error kind names (as payloads; nothing here calls
//! into `keys`).

use core::fmt;

use super::PreKeyRole;
use crate::address::{DeviceAddress, UserAddress};
use crate::keys::IdentityKey;
use crate::keys::UserIdentityKey;

/// What the client layer refuses, besides an untrusted identity
/// ([`TrustError`]): the account's own state, and first messages it
/// cannot or must not answer.
///
/// Nothing was changed when one of these is returned: every
/// [`Account`](crate::client::Account) operation is one store transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountError {
    /// There is no session with the device to encrypt with: fetch its
    /// bundle and start one.
    NoSession,
    /// A `Message` arrived from a device with no session to decrypt it.
    NoSessionForMessage,
    /// The session with the device was started too long ago without an
    /// answer: fetch a fresh bundle and start a new one.
    SessionExpired,
    /// The store holds no account: create one first.
    NoAccount,
    /// The store already holds an account.
    AccountExists,
    /// A key given to mark an identity does not match the one on record.
    IdentityMismatch,
    /// A `PreKeyMessage` names a prekey this device does not hold: it was
    /// used up by an earlier session, retired, or never existed.
    UnknownPreKey {
        /// Which prekey.
        prekey: PreKeyRole,
        /// The id the message names.
        id: u32,
    },
    /// A `PreKeyMessage` on last-resort prekeys repeats a handshake this
    /// device already answered: a replay.
    ReplayedHandshake,
    /// A `PreKeyMessage` on the last-resort ML-KEM prekey without a one-time
    /// prekey would be the `max`-plus-first handshake logged for that key
    /// ([`MAX_HANDSHAKES_PER_LAST_RESORT_KEY`](crate::client::MAX_HANDSHAKES_PER_LAST_RESORT_KEY)).
    /// Refused, with nothing changed: the sender should try again with a
    /// fresh bundle after the device has uploaded one-time prekeys.
    HandshakeLogFull {
        /// The last-resort key's id.
        last_resort_id: u32,
        /// The most handshakes logged per last-resort key.
        max: usize,
    },
    /// No device list is on record for the peer device's user, and the
    /// account only talks to devices a list names: fetch the user's list
    /// and give it to `Account::update_device_lists`, then try again.
    NoDeviceList {
        /// The user.
        user: UserAddress,
    },
    /// `Account::refresh_device_lists` was asked for one user's lists and
    /// its source returned a list of another user: nothing was taken.
    ListOfAnotherUser {
        /// The user whose lists were asked for.
        requested: UserAddress,
        /// The user a returned list is of.
        found: UserAddress,
    },
    /// The peer device is not on its user's latest device list, or is
    /// there with another identity key than the one it presented: a
    /// device the user did not add (a server's "ghost"), one the user
    /// removed, or one reinstalled since the list on record (fetch the
    /// user's latest list: if it names the device, try again).
    UnlistedDevice {
        /// The device.
        address: DeviceAddress,
    },
    /// An envelope is addressed to another device than this one.
    WrongRecipient {
        /// The recipient the envelope names.
        recipient: DeviceAddress,
    },
    /// This account's own user has a device list that no longer names
    /// this device (another device of the user removed it), or one signed
    /// by another user key: this device must not act for the user.
    DeviceRemoved,
    /// A device id given to add to this account's device list is already
    /// on it, or one given to remove is not (or is this device's own).
    DeviceIdInvalid {
        /// The id.
        device_id: u32,
    },
    /// A decryption-error receipt was not about this device, or named no
    /// session this device has with its sender.
    ReceiptNotApplicable,
    /// The group is not one this device has: a message or key for it
    /// arrived before the genesis or welcome (keep it, and try again after
    /// a group event that joins it), or the app named an unknown group.
    UnknownGroup,
    /// This device's user is not a member of the group (it was removed,
    /// or a genesis or welcome does not add it; or, for a removal, the
    /// user named is not a member).
    NotGroupMember,
    /// A group message or sender key came from a device that is not on
    /// the latest list on record of a member's user: a member the server
    /// added, a removed member or device, or one added by a change not
    /// received yet (try again after the next change).
    SenderNotMember {
        /// The sending device.
        sender: DeviceAddress,
    },
    /// A genesis, welcome or state sync came from a device that may not
    /// send it: not a listed device of the change's author (or, for a
    /// state, of this device's own user).
    NotGroupAuthor {
        /// The sending device.
        sender: DeviceAddress,
    },
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::NoSession => f.write_str("no session with the device"),
            AccountError::NoSessionForMessage => f.write_str("no session with the sender"),
            AccountError::SessionExpired => f.write_str("the unanswered session expired"),
            AccountError::NoAccount => f.write_str("the store holds no account"),
            AccountError::AccountExists => f.write_str("the store already holds an account"),
            AccountError::IdentityMismatch => f.write_str("identity key does not match the record"),
            AccountError::UnknownPreKey { prekey, id } => {
                write!(f, "no {prekey} prekey with id {id}")
            }
            AccountError::ReplayedHandshake => {
                f.write_str("handshake on last-resort prekeys already answered")
            }
            AccountError::HandshakeLogFull {
                last_resort_id,
                max,
            } => write!(
                f,
                "last-resort prekey {last_resort_id} already answered {max} handshakes"
            ),
            AccountError::NoDeviceList { user } => {
                write!(f, "no device list on record for {user:?}")
            }
            AccountError::ListOfAnotherUser { requested, found } => {
                write!(
                    f,
                    "asked for the device lists of {requested:?}, got one of {found:?}"
                )
            }
            AccountError::UnlistedDevice { address } => {
                write!(f, "{address:?} is not on its user's device list")
            }
            AccountError::WrongRecipient { recipient } => {
                write!(f, "the envelope is addressed to {recipient:?}")
            }
            AccountError::DeviceRemoved => {
                f.write_str("this device is no longer on its user's device list")
            }
            AccountError::DeviceIdInvalid { device_id } => {
                write!(f, "device id {device_id} cannot be added or removed here")
            }
            AccountError::ReceiptNotApplicable => {
                f.write_str("the receipt names no session of this device")
            }
            AccountError::UnknownGroup => f.write_str("no record of the group"),
            AccountError::NotGroupMember => f.write_str("the user is not a member of the group"),
            AccountError::SenderNotMember { sender } => {
                write!(f, "{sender:?} is not a device of a group member")
            }
            AccountError::NotGroupAuthor { sender } => {
                write!(f, "{sender:?} may not send this group's state or genesis")
            }
        }
    }
}

/// A peer's identity key was refused.
///
/// Nothing was stored and no session was changed; the caller decides (with
/// the user) whether to accept the new key with
/// [`Account::accept_identity`](crate::client::Account::accept_identity).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustError {
    /// The peer presented an identity key other than the one on record.
    IdentityChanged {
        /// The peer device.
        address: DeviceAddress,
        /// The identity key on record.
        old: Box<IdentityKey>,
        /// The identity key presented now.
        new: Box<IdentityKey>,
    },
    /// The trust policy refused a key it had not seen before, or one it
    /// was told to distrust.
    Untrusted {
        /// The peer device.
        address: DeviceAddress,
        /// The identity key presented.
        key: Box<IdentityKey>,
    },
    /// A peer user's device list is signed by another user key than the
    /// one on record: the person started over (every device lost), or
    /// someone else claims the account. Accept it with
    /// [`Account::accept_user_identity`](crate::client::Account::accept_user_identity)
    /// once the user agreed.
    UserKeyChanged {
        /// The peer user.
        user: UserAddress,
        /// The user key on record.
        old: Box<UserIdentityKey>,
        /// The user key of the list presented.
        new: Box<UserIdentityKey>,
    },
    /// The trust policy refused a user key it had not seen before.
    UserUntrusted {
        /// The peer user.
        user: UserAddress,
        /// The user key presented.
        key: Box<UserIdentityKey>,
    },
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::IdentityChanged { address, .. } => {
                write!(f, "the identity key of {address:?} changed")
            }
            TrustError::Untrusted { address, .. } => {
                write!(f, "the identity key of {address:?} is not trusted")
            }
            TrustError::UserKeyChanged { user, .. } => {
                write!(f, "the user key of {user:?} changed")
            }
            TrustError::UserUntrusted { user, .. } => {
                write!(f, "the user key of {user:?} is not trusted")
            }
        }
    }
}

impl core::error::Error for AccountError {}
impl core::error::Error for TrustError {}
