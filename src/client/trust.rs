//! Trust in peers' identity keys: what is on record, and the policy that
//! decides about a key presented by a bundle or a `PreKeyMessage`.

use crate::IdentityKey;
use crate::address::DeviceAddress;

/// What an account has on record about a peer device's identity key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownIdentity {
    key: IdentityKey,
    verified: bool,
    first_seen: u64,
}

impl KnownIdentity {
    pub(crate) fn new(key: IdentityKey, verified: bool, first_seen: u64) -> Self {
        KnownIdentity {
            key,
            verified,
            first_seen,
        }
    }

    /// Gives the identity key on record back.
    pub(crate) fn into_key(self) -> IdentityKey {
        self.key
    }

    /// The identity key on record.
    pub fn key(&self) -> &IdentityKey {
        &self.key
    }

    /// Whether the user compared safety numbers and marked the key
    /// verified ([`Account::mark_verified`](super::Account::mark_verified));
    /// otherwise it was trusted on first use or accepted after a change.
    pub fn is_verified(&self) -> bool {
        self.verified
    }

    /// When the key was first recorded (seconds since the Unix epoch, as
    /// the caller passed it).
    pub fn first_seen(&self) -> u64 {
        self.first_seen
    }
}

/// What a [`TrustPolicy`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustDecision {
    /// Use the key: record it if it is new, replace the one on record if it
    /// changed (the caller learns of the change from
    /// [`IdentityStatus::Changed`]).
    Trust,
    /// Refuse it: the operation fails with a
    /// [`TrustError`](crate::TrustError) and nothing is stored.
    Refuse,
}

/// Decides whether to use an identity key a peer device presents.
///
/// Called when a session is started from a bundle and when a
/// `PreKeyMessage` has been authenticated (so a forged message cannot make
/// an app warn about a change that did not happen).
pub trait TrustPolicy {
    /// Decides about `presented`, given what is on record for `peer`.
    fn decide(
        &self,
        peer: &DeviceAddress,
        known: Option<&KnownIdentity>,
        presented: &IdentityKey,
    ) -> TrustDecision;
}

/// The default policy: trust a device's key the first time it is seen, and
/// refuse any other key after that until the user accepts it
/// ([`Account::accept_identity`](super::Account::accept_identity)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrustOnFirstUse;

impl TrustPolicy for TrustOnFirstUse {
    fn decide(
        &self,
        _peer: &DeviceAddress,
        known: Option<&KnownIdentity>,
        presented: &IdentityKey,
    ) -> TrustDecision {
        match known {
            None => TrustDecision::Trust,
            Some(k) if k.key == *presented => TrustDecision::Trust,
            Some(_) => TrustDecision::Refuse,
        }
    }
}

impl<P: TrustPolicy + ?Sized> TrustPolicy for &P {
    fn decide(
        &self,
        peer: &DeviceAddress,
        known: Option<&KnownIdentity>,
        presented: &IdentityKey,
    ) -> TrustDecision {
        (**self).decide(peer, known, presented)
    }
}

impl<P: TrustPolicy + ?Sized> TrustPolicy for Box<P> {
    fn decide(
        &self,
        peer: &DeviceAddress,
        known: Option<&KnownIdentity>,
        presented: &IdentityKey,
    ) -> TrustDecision {
        (**self).decide(peer, known, presented)
    }
}

/// How a peer's identity key relates to what was on record, reported by
/// operations that met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityStatus {
    /// The key is the one on record.
    Known,
    /// No key was on record; this one now is.
    New,
    /// The policy accepted a key other than the one on record, which it
    /// replaced; sessions with the old key were closed. Apps show the
    /// user that the safety number changed.
    Changed {
        /// The key that was on record.
        previous: Box<IdentityKey>,
    },
}
