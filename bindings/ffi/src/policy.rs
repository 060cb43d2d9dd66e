//! How an account is set up: its settings (`AccountConfig`, each bounded
//! as kinseal bounds it) and the app's trust policy, a foreign object the
//! account asks about every new or changed identity key.

use std::sync::Arc;

use kinseal::client as kc;

use crate::error::Result;
use crate::types::{DeviceAddress, KnownIdentity, KnownUser, UserAddress};

/// An account's settings, for `Account.create` and `Account.open`: a field
/// left `None` keeps kinseal's default. Each value must be in the range
/// the kinseal documentation gives for it (`kinseal::client::AccountConfig`);
/// one outside it is a `Misuse` error with kind `ConfigOutOfRange`.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct AccountConfig {
    /// How many archived sessions to keep per peer device.
    #[uniffi(default = None)]
    pub max_archived_sessions: Option<u32>,
    /// How long (seconds) an idle archived session is kept.
    #[uniffi(default = None)]
    pub archived_session_ttl: Option<u64>,
    /// How long (seconds) a session this device started may go
    /// unanswered before it stops encrypting.
    #[uniffi(default = None)]
    pub pending_session_ttl: Option<u64>,
    /// How many one-time prekeys of each kind to keep published.
    #[uniffi(default = None)]
    pub one_time_prekey_target: Option<u32>,
    /// How old (seconds) the signed prekey may get before it is replaced;
    /// set together with `signed_prekey_grace`.
    #[uniffi(default = None)]
    pub signed_prekey_rotation: Option<u64>,
    /// How long (seconds) a replaced signed prekey is still kept.
    #[uniffi(default = None)]
    pub signed_prekey_grace: Option<u64>,
    /// How many peer devices' decoded sessions to keep in memory (0: no
    /// cache).
    #[uniffi(default = None)]
    pub session_cache: Option<u32>,
    /// Whether a peer device must be on its user's device list before a
    /// session with it is started or answered (kinseal's default: yes).
    #[uniffi(default = None)]
    pub device_lists_required: Option<bool>,
    /// After how many messages this device's sender key in a group is
    /// replaced; set together with `group_rotation_age`.
    #[uniffi(default = None)]
    pub group_rotation_messages: Option<u32>,
    /// After how long (seconds) this device's sender key in a group is
    /// replaced.
    #[uniffi(default = None)]
    pub group_rotation_age: Option<u64>,
}

impl AccountConfig {
    /// kinseal's settings: its defaults, with each field that is set
    /// applied through kinseal's own bounded setter.
    pub(crate) fn to_core(&self) -> Result<kc::AccountConfig> {
        use kinseal::server::{SIGNED_PREKEY_GRACE_SECS, SIGNED_PREKEY_ROTATION_SECS};
        let mut c = kc::AccountConfig::default();
        if let Some(v) = self.max_archived_sessions {
            c = c.with_max_archived_sessions(v as usize)?;
        }
        if let Some(v) = self.archived_session_ttl {
            c = c.with_archived_session_ttl(v)?;
        }
        if let Some(v) = self.pending_session_ttl {
            c = c.with_pending_session_ttl(v)?;
        }
        if let Some(v) = self.one_time_prekey_target {
            c = c.with_one_time_prekey_target(v as usize)?;
        }
        if self.signed_prekey_rotation.is_some() || self.signed_prekey_grace.is_some() {
            c = c.with_signed_prekey_rotation(
                self.signed_prekey_rotation
                    .unwrap_or(SIGNED_PREKEY_ROTATION_SECS),
                self.signed_prekey_grace.unwrap_or(SIGNED_PREKEY_GRACE_SECS),
            )?;
        }
        if let Some(v) = self.session_cache {
            c = c.with_session_cache(v as usize)?;
        }
        if let Some(v) = self.device_lists_required {
            c = c.with_device_lists_required(v);
        }
        if self.group_rotation_messages.is_some() || self.group_rotation_age.is_some() {
            c = c.with_group_rotation(
                self.group_rotation_messages
                    .unwrap_or(kc::DEFAULT_GROUP_ROTATION_MESSAGES),
                self.group_rotation_age
                    .unwrap_or(kc::DEFAULT_GROUP_ROTATION_SECS),
            )?;
        }
        Ok(c)
    }
}

/// The app's trust policy: asked, inside the operation that met it,
/// whether to use an identity key. Without one, an account trusts a key
/// the first time it sees it and refuses any other after that until the
/// app accepts it (`accept_identity`, `accept_user_identity`).
///
/// Return `true` to use the key, `false` to refuse it (the operation then
/// fails with a `Trust` error and nothing is stored). Raising refuses it
/// too. Keep the answer quick and free of calls into the same account.
#[uniffi::export(with_foreign)]
pub trait TrustPolicy: Send + Sync {
    /// A device's identity key, met in a bundle or an authenticated first
    /// message, given what is on record for the device. Asked only for
    /// devices whose user has no device list on record (see
    /// `AccountConfig.device_lists_required`).
    fn trust_device(
        &self,
        peer: DeviceAddress,
        known: Option<KnownIdentity>,
        presented: Vec<u8>,
    ) -> Result<bool>;

    /// A user key from a device list, given what is on record for the
    /// user and the key-transparency proof the app passed with the list
    /// (`update_device_lists_with_proof`), if any. Asked for every list,
    /// also when the key is the one on record.
    fn trust_user(
        &self,
        user: UserAddress,
        known: Option<KnownUser>,
        presented: Vec<u8>,
        proof: Option<Vec<u8>>,
    ) -> Result<bool>;
}

/// The policy an account runs: kinseal's default or the app's.
pub(crate) enum Policy {
    Default(kc::TrustOnFirstUse),
    App(Arc<dyn TrustPolicy>),
}

impl Policy {
    pub(crate) fn new(app: Option<Arc<dyn TrustPolicy>>) -> Self {
        app.map_or(Policy::Default(kc::TrustOnFirstUse), Policy::App)
    }
}

fn decision(trusted: Result<bool>) -> kc::TrustDecision {
    match trusted {
        Ok(true) => kc::TrustDecision::Trust,
        // A refusal, and a policy that raised: nothing unasked-for is used.
        Ok(false) | Err(_) => kc::TrustDecision::Refuse,
    }
}

impl kc::TrustPolicy for Policy {
    fn decide(
        &self,
        peer: &kc::DeviceAddress,
        known: Option<&kc::KnownIdentity>,
        presented: &kinseal::IdentityKey,
    ) -> kc::TrustDecision {
        match self {
            Policy::Default(p) => p.decide(peer, known, presented),
            Policy::App(p) => decision(p.trust_device(
                peer.into(),
                known.map(KnownIdentity::from),
                presented.to_bytes().to_vec(),
            )),
        }
    }

    fn decide_user(
        &self,
        user: &kc::UserAddress,
        known: Option<&kc::KnownUser>,
        presented: &kinseal::UserIdentityKey,
        proof: Option<&[u8]>,
    ) -> kc::TrustDecision {
        match self {
            Policy::Default(p) => p.decide_user(user, known, presented, proof),
            Policy::App(p) => decision(p.trust_user(
                user.into(),
                known.map(KnownUser::from),
                presented.to_bytes().to_vec(),
                proof.map(<[u8]>::to_vec),
            )),
        }
    }
}

/// An account as kinseal makes it, with the app's settings and policy.
pub(crate) fn configure<S: kc::ClientStore>(
    account: kc::Account<S>,
    config: Option<AccountConfig>,
    policy: Option<Arc<dyn TrustPolicy>>,
) -> Result<kc::Account<S, Policy>> {
    let account = match config {
        Some(c) => account.with_config(c.to_core()?),
        None => account,
    };
    Ok(account.with_trust_policy(Policy::new(policy)))
}
