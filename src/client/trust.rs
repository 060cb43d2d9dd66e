//! Trust in peers' identity keys: what is on record, and the policy that
//! decides about a key presented by a bundle or a `PreKeyMessage`.

use crate::address::{DeviceAddress, UserAddress};
use crate::{IdentityKey, UserIdentityKey, VerifiedDeviceList};

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

/// What an account has on record about a user: its user key, the trust
/// decision about it, and the latest device list accepted for it.
#[derive(Debug, Clone)]
pub struct KnownUser {
    key: UserIdentityKey,
    verified: bool,
    first_seen: u64,
    list: VerifiedDeviceList,
}

impl KnownUser {
    pub(crate) fn new(list: VerifiedDeviceList, verified: bool, first_seen: u64) -> Self {
        KnownUser {
            key: list.user_key().clone(),
            verified,
            first_seen,
            list,
        }
    }

    /// The user key on record.
    pub fn key(&self) -> &UserIdentityKey {
        &self.key
    }

    /// Whether the people compared the (per-person) safety number and
    /// marked the key verified
    /// ([`Account::mark_user_verified`](super::Account::mark_user_verified)).
    pub fn is_verified(&self) -> bool {
        self.verified
    }

    /// When the user key was first recorded.
    pub fn first_seen(&self) -> u64 {
        self.first_seen
    }

    /// The latest device list accepted for the user, signed by
    /// [`KnownUser::key`].
    pub fn device_list(&self) -> &VerifiedDeviceList {
        &self.list
    }

    pub(crate) fn into_list(self) -> VerifiedDeviceList {
        self.list
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
    /// Consulted only for peers without a device list on record (see
    /// [`AccountConfig::with_device_lists_required`](super::AccountConfig::with_device_lists_required));
    /// a device on its user's list is trusted as the list's user key is.
    fn decide(
        &self,
        peer: &DeviceAddress,
        known: Option<&KnownIdentity>,
        presented: &IdentityKey,
    ) -> TrustDecision;

    /// Decides about the user key of a device list given to
    /// [`Account::update_device_lists`](super::Account::update_device_lists),
    /// given what is on record for `user`, and the key-transparency proof
    /// the app fetched with the list, if it gave one
    /// ([`Account::update_device_lists_with_proof`](super::Account::update_device_lists_with_proof)).
    /// Called for every list, also when the key is the one on record.
    ///
    /// The default is trust on first use: trust a user key the first time
    /// it is seen and refuse any other after that, until the user accepts
    /// it with
    /// [`Account::accept_user_identity`](super::Account::accept_user_identity).
    ///
    /// # Security
    /// This is the hook for key transparency: a policy holding a verifier
    /// of a key-transparency log (Meta's `akd`, for example) checks here
    /// that `presented` is the key the log holds for `user`, from `proof`
    /// (opaque to kinseal: a lookup proof against a published root, say),
    /// and refuses it otherwise, or when there is no proof. kinseal builds
    /// no log and checks no proof itself.
    fn decide_user(
        &self,
        user: &UserAddress,
        known: Option<&KnownUser>,
        presented: &UserIdentityKey,
        proof: Option<&[u8]>,
    ) -> TrustDecision {
        let _ = (user, proof);
        match known {
            None => TrustDecision::Trust,
            Some(k) if k.key == *presented => TrustDecision::Trust,
            Some(_) => TrustDecision::Refuse,
        }
    }
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

    fn decide_user(
        &self,
        user: &UserAddress,
        known: Option<&KnownUser>,
        presented: &UserIdentityKey,
        proof: Option<&[u8]>,
    ) -> TrustDecision {
        (**self).decide_user(user, known, presented, proof)
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

    fn decide_user(
        &self,
        user: &UserAddress,
        known: Option<&KnownUser>,
        presented: &UserIdentityKey,
        proof: Option<&[u8]>,
    ) -> TrustDecision {
        (**self).decide_user(user, known, presented, proof)
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
