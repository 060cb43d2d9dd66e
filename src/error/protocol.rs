//! What the protocol core returns besides a failed decryption: well-formed
//! input that breaks a rule, and calls the API does not allow.

use core::fmt;

/// What a signature was meant to cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignedObject {
    /// A signed X25519 prekey.
    SignedPreKey,
    /// An ML-KEM prekey (one-time or last-resort).
    KemPreKey,
    /// A user's [`DeviceList`](crate::DeviceList), signed by the user
    /// identity key it names.
    DeviceList,
    /// A [`DecryptionErrorReceipt`](crate::DecryptionErrorReceipt), signed
    /// by the identity key of the device that could not decrypt.
    DecryptionErrorReceipt,
    /// An [`AccountLink`](crate::AccountLink) (either of its two
    /// signatures) or an [`AccountLinkProposal`](crate::AccountLinkProposal),
    /// signed by the user identity keys it names.
    AccountLink,
    /// A [`LinkRevocation`](crate::LinkRevocation), signed by the user
    /// identity key it names.
    LinkRevocation,
    /// A [`GroupChange`](crate::GroupChange), signed by the user identity
    /// key of the admin it names as its author.
    GroupChange,
}

/// Well-formed input that breaks a protocol rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A signature did not verify under the claimed identity key.
    InvalidSignature {
        /// What the signature covered.
        object: SignedObject,
    },
    /// A Diffie-Hellman output was all zeros: the peer's key is of small
    /// order and would let an attacker fix the shared secret.
    NonContributoryKey,
    /// This copy of the message was already decrypted.
    Duplicate {
        /// The message's index in its chain.
        index: u32,
    },
    /// The message is older than the oldest key the bounds let the session
    /// keep: its key was discarded, or it was decrypted before the
    /// discarding happened.
    MessageKeyExpired {
        /// The message's index in its chain.
        index: u32,
    },
    /// The message is further ahead of its chain than the configured
    /// maximum forward jump.
    TooFarAhead {
        /// The largest jump allowed.
        max: u32,
        /// The jump the message would need.
        found: u64,
    },
    /// A `PreKeyMessage` arrived for a session it does not belong to, or at
    /// a session that cannot accept one.
    UnexpectedPreKeyMessage,
    /// A message carried a new ratchet key the session cannot ratchet to
    /// yet (the responder has not sent anything).
    UnexpectedRatchetKey,
    /// The message's chain index space is exhausted.
    ChainExhausted,
    /// The message authenticated, but its padded plaintext is not one
    /// (PROTOCOL.md §7.6): no end marker, or a plaintext longer than
    /// [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN). Only a holder of
    /// the session's keys can send this: the peer's implementation is
    /// broken. The session is unchanged.
    InvalidPadding,
    /// A scanned safety number is well-formed but of the other
    /// safety-number version (PROTOCOL.md §11.4): one side shows the number
    /// of two users' keys, the other the number of two devices' keys. Not
    /// a mismatch of keys: compare numbers of the same kind.
    SafetyNumberVersionMismatch {
        /// The version of the number compared against.
        ours: u8,
        /// The version of the scanned payload.
        scanned: u8,
    },
}

/// The caller used the API in a way it does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MisuseError {
    /// A [`SessionConfig`](crate::SessionConfig) value is outside its safe range.
    ConfigOutOfRange {
        /// The setting's name.
        parameter: &'static str,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
        /// The value given.
        found: u64,
    },
    /// A plaintext is longer than [`MAX_PLAINTEXT_LEN`](crate::MAX_PLAINTEXT_LEN).
    PlaintextTooLong {
        /// The maximum.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// The context is longer than [`MAX_CONTEXT_LEN`](crate::MAX_CONTEXT_LEN).
    ContextTooLong {
        /// The maximum.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// A prekey given to session setup does not have the id the message names.
    PreKeyMismatch {
        /// Which prekey.
        prekey: PreKeyRole,
        /// The id the message names, if it names one.
        expected: Option<u32>,
        /// The id of the key given, if one was given.
        found: Option<u32>,
    },
    /// Secret key bytes given to kinseal do not have the length the key
    /// needs (for example a storage key read back from a keystore).
    KeyLength {
        /// The length the key needs.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A batch would need more ids than remain.
    BatchTooLarge {
        /// The largest batch allowed.
        max: usize,
        /// The size asked for.
        found: usize,
    },
    /// A device list to sign has no device, or more than
    /// [`MAX_DEVICES_PER_USER`](crate::limits::MAX_DEVICES_PER_USER).
    DeviceCount {
        /// The fewest devices a list holds (1).
        min: usize,
        /// The most devices a list holds.
        max: usize,
        /// The number given.
        found: usize,
    },
    /// A device list to sign names one device id twice.
    DuplicateDeviceId {
        /// The id given twice.
        device_id: u32,
    },
    /// A device list to sign gives two devices the same identity key.
    DuplicateDeviceKey {
        /// The higher of the two devices' ids.
        device_id: u32,
    },
    /// A device list's version is `u64::MAX`: it has no successor.
    DeviceListVersionExhausted,
    /// A successor device list was to be signed by another user identity
    /// key than the one that signed the list it follows.
    WrongUserKey,
    /// No device lists were given where at least one is needed.
    NoDeviceLists,
    /// An operation on peers was given this account's own user.
    NotAPeer,
    /// An account link was proposed between an account and itself: both
    /// user identity keys, or both addresses, are the same.
    LinkToSelf,
    /// The user identity key given is not the one an account link needs:
    /// a proposal countersigned by another key than the one it names, or a
    /// revocation signed by a key that is not one of the link's two.
    WrongLinkKey,
}

/// Which prekey an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PreKeyRole {
    /// The signed X25519 prekey.
    Signed,
    /// The one-time X25519 prekey.
    OneTime,
    /// The ML-KEM prekey.
    Kem,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::InvalidSignature { object } => {
                write!(f, "invalid signature on {object:?}")
            }
            ProtocolError::NonContributoryKey => {
                f.write_str("non-contributory Diffie-Hellman output")
            }
            ProtocolError::Duplicate { index } => {
                write!(f, "message {index} was already decrypted")
            }
            ProtocolError::MessageKeyExpired { index } => {
                write!(f, "key for message {index} is no longer kept")
            }
            ProtocolError::TooFarAhead { max, found } => {
                write!(
                    f,
                    "message is {found} ahead of its chain; at most {max} allowed"
                )
            }
            ProtocolError::UnexpectedPreKeyMessage => {
                f.write_str("PreKeyMessage does not belong to this session")
            }
            ProtocolError::UnexpectedRatchetKey => {
                f.write_str("new ratchet key before the responder has sent")
            }
            ProtocolError::ChainExhausted => f.write_str("chain index space exhausted"),
            ProtocolError::InvalidPadding => {
                f.write_str("authenticated message with an invalid padded plaintext")
            }
            ProtocolError::SafetyNumberVersionMismatch { ours, scanned } => write!(
                f,
                "scanned a version {scanned} safety number, comparing with version {ours}"
            ),
        }
    }
}

impl fmt::Display for MisuseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MisuseError::ConfigOutOfRange {
                parameter,
                min,
                max,
                found,
            } => write!(f, "{parameter} = {found} outside {min}..={max}"),
            MisuseError::PlaintextTooLong { max, found } => {
                write!(f, "plaintext of {found} bytes exceeds {max}")
            }
            MisuseError::ContextTooLong { max, found } => {
                write!(f, "context of {found} bytes exceeds {max}")
            }
            MisuseError::PreKeyMismatch {
                prekey,
                expected,
                found,
            } => write!(
                f,
                "{prekey} prekey mismatch: message names {expected:?}, given {found:?}"
            ),
            MisuseError::KeyLength { expected, found } => {
                write!(f, "key of {found} bytes where {expected} are needed")
            }
            MisuseError::BatchTooLarge { max, found } => {
                write!(f, "batch of {found} exceeds {max}")
            }
            MisuseError::DeviceCount { min, max, found } => {
                write!(f, "device list of {found} devices outside {min}..={max}")
            }
            MisuseError::DuplicateDeviceId { device_id } => {
                write!(f, "device id {device_id} listed twice")
            }
            MisuseError::DuplicateDeviceKey { device_id } => {
                write!(
                    f,
                    "device {device_id} has the identity key of another listed device"
                )
            }
            MisuseError::DeviceListVersionExhausted => f.write_str("device list version exhausted"),
            MisuseError::WrongUserKey => {
                f.write_str("a successor device list must be signed by the same user key")
            }
            MisuseError::NoDeviceLists => f.write_str("no device lists given"),
            MisuseError::NotAPeer => f.write_str("this account's own user is not a peer"),
            MisuseError::LinkToSelf => f.write_str("an account cannot be linked to itself"),
            MisuseError::WrongLinkKey => {
                f.write_str("the user key is not the one the account link needs")
            }
        }
    }
}

impl core::error::Error for ProtocolError {}
impl core::error::Error for MisuseError {}

impl fmt::Display for PreKeyRole {
    /// Lower case, for messages: "signed", "one-time", "ML-KEM".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PreKeyRole::Signed => "signed",
            PreKeyRole::OneTime => "one-time",
            PreKeyRole::Kem => "ML-KEM",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DirectoryError;

    #[test]
    fn messages_name_prekeys_in_lower_case() {
        let e = DirectoryError::NotReady {
            missing: PreKeyRole::Signed,
        };
        assert_eq!(e.to_string(), "the device has no signed prekey to hand out");
        let e = MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::OneTime,
            expected: Some(1),
            found: None,
        };
        assert!(e.to_string().starts_with("one-time prekey mismatch"), "{e}");
    }
}
