//! How an [`Account`](super::Account) manages sessions and prekeys.

use crate::SessionConfig;
use crate::error::MisuseError;
use crate::limits::{
    DEFAULT_ARCHIVED_SESSION_TTL_SECS, DEFAULT_MAX_ARCHIVED_SESSIONS,
    DEFAULT_ONE_TIME_PREKEY_TARGET, DEFAULT_PENDING_SESSION_TTL_SECS, DEFAULT_SESSION_CACHE,
    MAX_ACCOUNT_CONTEXT_LEN, MAX_ARCHIVED_SESSIONS_LIMIT, MAX_SESSION_CACHE_LIMIT,
};
use crate::limits::{
    DEFAULT_GROUP_ROTATION_MESSAGES, DEFAULT_GROUP_ROTATION_SECS, MAX_GROUP_ROTATION_MESSAGES,
};
use crate::limits::{
    MAX_KEM_PREKEYS_PER_UPLOAD, MAX_ONE_TIME_PREKEYS_PER_UPLOAD, SIGNED_PREKEY_GRACE_SECS,
    SIGNED_PREKEY_ROTATION_SECS,
};

/// An account's settings. Every value is bounded; setters refuse values
/// outside their range with [`MisuseError::ConfigOutOfRange`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountConfig {
    pub(super) session: SessionConfig,
    pub(super) max_archived_sessions: usize,
    pub(super) archived_session_ttl: u64,
    pub(super) pending_session_ttl: u64,
    pub(super) one_time_prekey_target: usize,
    pub(super) signed_prekey_rotation: u64,
    pub(super) signed_prekey_grace: u64,
    pub(super) session_cache: usize,
    pub(super) device_lists_required: bool,
    pub(super) group_rotation_messages: u32,
    pub(super) group_rotation_age: u64,
}

impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig {
            session: SessionConfig::default(),
            max_archived_sessions: DEFAULT_MAX_ARCHIVED_SESSIONS,
            archived_session_ttl: DEFAULT_ARCHIVED_SESSION_TTL_SECS,
            pending_session_ttl: DEFAULT_PENDING_SESSION_TTL_SECS,
            one_time_prekey_target: DEFAULT_ONE_TIME_PREKEY_TARGET,
            signed_prekey_rotation: SIGNED_PREKEY_ROTATION_SECS,
            signed_prekey_grace: SIGNED_PREKEY_GRACE_SECS,
            session_cache: DEFAULT_SESSION_CACHE,
            device_lists_required: true,
            group_rotation_messages: DEFAULT_GROUP_ROTATION_MESSAGES,
            group_rotation_age: DEFAULT_GROUP_ROTATION_SECS,
        }
    }
}

fn range(parameter: &'static str, min: u64, max: u64, found: u64) -> crate::Result<()> {
    if found < min || found > max {
        return Err(MisuseError::ConfigOutOfRange {
            parameter,
            min,
            max,
            found,
        }
        .into());
    }
    Ok(())
}

const DAY: u64 = 24 * 60 * 60;
/// A year: the longest any of the time settings may be.
const YEAR: u64 = 366 * DAY;

impl AccountConfig {
    /// The settings of every session (bounds, padding and an app
    /// context). The account binds both devices' addresses into every
    /// session's context itself (PROTOCOL.md §6.6); `session`'s context is
    /// appended after them, and both ends must set the same one.
    ///
    /// # Errors
    /// [`MisuseError::ContextTooLong`] for a context longer than
    /// [`MAX_ACCOUNT_CONTEXT_LEN`], which leaves room for the addresses.
    pub fn with_session_config(mut self, session: SessionConfig) -> crate::Result<Self> {
        if session.context().len() > MAX_ACCOUNT_CONTEXT_LEN {
            return Err(MisuseError::ContextTooLong {
                max: MAX_ACCOUNT_CONTEXT_LEN,
                found: session.context().len(),
            }
            .into());
        }
        self.session = session;
        Ok(self)
    }

    /// Whether a peer device must be on its user's device list (on
    /// record, from [`Account::update_device_lists`](super::Account::update_device_lists))
    /// before a session with it is started or answered: `true` unless set.
    ///
    /// # Security
    /// With `false`, a peer whose user has no list on record is trusted
    /// device by device ([`TrustPolicy::decide`](crate::client::TrustPolicy::decide)),
    /// as before device lists: a server can then add a device to such a
    /// user unnoticed. Once a user's list is on record it is always
    /// enforced. Meant for talking to apps that do not publish lists yet.
    pub fn with_device_lists_required(mut self, required: bool) -> Self {
        self.device_lists_required = required;
        self
    }

    /// How many archived sessions to keep per peer device, up to
    /// [`MAX_ARCHIVED_SESSIONS_LIMIT`].
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] above the limit.
    pub fn with_max_archived_sessions(mut self, value: usize) -> crate::Result<Self> {
        range(
            "max_archived_sessions",
            0,
            MAX_ARCHIVED_SESSIONS_LIMIT as u64,
            value as u64,
        )?;
        self.max_archived_sessions = value;
        Ok(self)
    }

    /// How long (seconds) an idle archived session is kept: one hour to a year.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] outside that range.
    pub fn with_archived_session_ttl(mut self, secs: u64) -> crate::Result<Self> {
        range("archived_session_ttl", 60 * 60, YEAR, secs)?;
        self.archived_session_ttl = secs;
        Ok(self)
    }

    /// How long (seconds) a session this device started may go unanswered
    /// before it stops encrypting: one hour to a year.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] outside that range.
    pub fn with_pending_session_ttl(mut self, secs: u64) -> crate::Result<Self> {
        range("pending_session_ttl", 60 * 60, YEAR, secs)?;
        self.pending_session_ttl = secs;
        Ok(self)
    }

    /// How many one-time prekeys of each kind to keep published: 1 to one
    /// full upload.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] outside that range.
    pub fn with_one_time_prekey_target(mut self, value: usize) -> crate::Result<Self> {
        let max = MAX_ONE_TIME_PREKEYS_PER_UPLOAD.min(MAX_KEM_PREKEYS_PER_UPLOAD);
        range("one_time_prekey_target", 1, max as u64, value as u64)?;
        self.one_time_prekey_target = value;
        Ok(self)
    }

    /// How old (seconds) the signed prekey may get before it is replaced
    /// (one hour to a year), and how long a replaced one is still kept
    /// for messages already on their way (one hour to a year).
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] outside those ranges.
    pub fn with_signed_prekey_rotation(mut self, rotation: u64, grace: u64) -> crate::Result<Self> {
        range("signed_prekey_rotation", 60 * 60, YEAR, rotation)?;
        range("signed_prekey_grace", 60 * 60, YEAR, grace)?;
        self.signed_prekey_rotation = rotation;
        self.signed_prekey_grace = grace;
        Ok(self)
    }

    /// How many peer devices' decoded sessions to keep in memory between
    /// operations, up to [`MAX_SESSION_CACHE_LIMIT`]; 0 turns the cache
    /// off.
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] above the limit.
    ///
    /// # Security
    /// Cached sessions hold their secrets in memory until evicted or the
    /// account is dropped (they are zeroized then), instead of only during
    /// an operation. The store's records are the truth either way.
    pub fn with_session_cache(mut self, value: usize) -> crate::Result<Self> {
        range(
            "session_cache",
            0,
            MAX_SESSION_CACHE_LIMIT as u64,
            value as u64,
        )?;
        self.session_cache = value;
        Ok(self)
    }

    /// When this device replaces its sender key for a group, besides on
    /// every removal: after `messages` messages sent under it (1 ..=
    /// [`MAX_GROUP_ROTATION_MESSAGES`]) or once it is `age_secs` seconds
    /// old (an hour ..= a year). Defaults:
    /// [`DEFAULT_GROUP_ROTATION_MESSAGES`] and
    /// [`DEFAULT_GROUP_ROTATION_SECS`].
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`] outside the ranges.
    ///
    /// # Security
    /// A sender key gives no post-compromise security by itself: whoever
    /// learned its chain key reads every later message under it. A new key
    /// ends that, at the cost of one pairwise message per member device.
    pub fn with_group_rotation(mut self, messages: u32, age_secs: u64) -> crate::Result<Self> {
        range(
            "group_rotation_messages",
            1,
            u64::from(MAX_GROUP_ROTATION_MESSAGES),
            u64::from(messages),
        )?;
        range("group_rotation_age", 60 * 60, YEAR, age_secs)?;
        self.group_rotation_messages = messages;
        self.group_rotation_age = age_secs;
        Ok(self)
    }

    /// The session settings.
    pub fn session_config(&self) -> &SessionConfig {
        &self.session
    }

    /// How many archived sessions are kept per peer device.
    pub fn max_archived_sessions(&self) -> usize {
        self.max_archived_sessions
    }

    /// Whether peer devices must be on their user's device list.
    pub fn device_lists_required(&self) -> bool {
        self.device_lists_required
    }
}
