//! Starting sessions, encrypting and decrypting, each as one transaction.

use core::fmt;

use rand_core::CryptoRng;

use super::Account;
use super::groups::GroupEvent;
use super::sessions::SessionSet;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::store::{ClientStore, SessionStore, StoreTransaction};
use crate::client::trust::{IdentityStatus, TrustPolicy};
use crate::error::{AccountError, MisuseError};
use crate::limits::{MAX_APP_PLAINTEXT_LEN, MAX_HANDSHAKES_PER_LAST_RESORT_KEY};
use crate::wire::ContentFrame;
use crate::{
    Error, HandshakeId, IncomingMessage, MessageKind, PreKeyMessage, Session, SessionConfig,
    VerifiedBundle, message_kind,
};
use zeroize::Zeroize;

/// What [`Account::decrypt_in`] hands back: the message, the sealed
/// session record written, and the set it holds.
pub(super) type DecryptedIn = (Decrypted, Option<Vec<u8>>, SessionSet);

/// A decrypted message and what decrypting it learned about the sender.
///
/// A pairwise message carries either the app's plaintext or a group
/// control message the account handled itself (PROTOCOL.md §17): then
/// [`Decrypted::group_event`] says what it did, and the plaintext is empty.
pub struct Decrypted {
    plaintext: Vec<u8>,
    identity: IdentityStatus,
    new_session: bool,
    group: Option<GroupEvent>,
}

impl Decrypted {
    /// The app's plaintext: empty when the message was a group control
    /// message (check [`Decrypted::group_event`] first).
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// What a group control message did, when the message was one (a
    /// sender key, a change, a welcome), or `None` for an app message.
    pub fn group_event(&self) -> Option<&GroupEvent> {
        self.group.as_ref()
    }

    /// The plaintext, by value.
    pub fn into_plaintext(self) -> Vec<u8> {
        self.plaintext
    }

    /// How the sender's identity key relates to the one on record: always
    /// [`IdentityStatus::Known`] for a `Message`; for a `PreKeyMessage`
    /// that set up a session, possibly [`IdentityStatus::New`] or (if the
    /// trust policy accepted a change) [`IdentityStatus::Changed`].
    pub fn identity(&self) -> &IdentityStatus {
        &self.identity
    }

    /// Whether the message set up a new session.
    pub fn new_session(&self) -> bool {
        self.new_session
    }
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("identity", &self.identity)
            .field("new_session", &self.new_session)
            .field("group", &self.group)
            .finish()
    }
}

/// The content of an app message (PROTOCOL.md §17).
///
/// # Errors
/// [`MisuseError::PlaintextTooLong`] beyond [`MAX_APP_PLAINTEXT_LEN`].
pub(super) fn app_content(plaintext: &[u8]) -> crate::Result<Vec<u8>> {
    if plaintext.len() > MAX_APP_PLAINTEXT_LEN {
        return Err(MisuseError::PlaintextTooLong {
            max: MAX_APP_PLAINTEXT_LEN,
            found: plaintext.len(),
        }
        .into());
    }
    Ok(ContentFrame::Message(plaintext).to_vec())
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// Takes the content of an authenticated pairwise message: an app
    /// message is returned as is; a group control message is handled here.
    fn take_content<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        mut decrypted: Decrypted,
    ) -> crate::Result<Decrypted> {
        let group = match ContentFrame::decode(&decrypted.plaintext)? {
            ContentFrame::Message(body) => {
                let body = body.to_vec();
                decrypted.plaintext.zeroize();
                decrypted.plaintext = body;
                return Ok(decrypted);
            }
            content => self.receive_group_content(txn, rng, peer, content)?,
        };
        decrypted.plaintext.zeroize();
        decrypted.plaintext = Vec::new();
        decrypted.group = Some(group);
        Ok(decrypted)
    }

    /// Starts a session with a peer device from its verified bundle; it
    /// becomes the current session (the previous one is archived).
    /// Messages to the device are `PreKeyMessage`s until it answers. The
    /// session binds this device's address and `peer` (PROTOCOL.md §6.6).
    /// [`Account::sync_sessions`] does this for every device of a user.
    ///
    /// # Errors
    /// [`AccountError::UnlistedDevice`] unless the latest device list on
    /// record for `peer`'s user names it with the bundle's identity key;
    /// [`AccountError::NoDeviceList`] without a list on record (see
    /// [`AccountConfig::with_device_lists_required`](super::AccountConfig::with_device_lists_required);
    /// then a [`TrustError`](crate::TrustError) if the trust policy refuses
    /// the bundle's identity key); [`ProtocolError::NonContributoryKey`](crate::ProtocolError::NonContributoryKey) for a
    /// weak key in the bundle; a [`StorageError`](crate::StorageError).
    ///
    /// # Security
    /// `peer` must be the address the bundle was fetched for: it is bound
    /// into the session, and the device list is checked for it.
    pub fn start_session<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        bundle: &VerifiedBundle,
        now: u64,
    ) -> crate::Result<IdentityStatus> {
        super::trace::traced("start_session", 0, || {
            let mut txn = self.store.transaction()?;
            let mut set = self.load_sessions(&mut txn, peer)?;
            let presented = bundle.bundle().identity_key();
            let status = self.check_device(&mut txn, rng, peer, presented, &mut set, now)?;
            let config = self.bound_config(&self.address, peer)?;
            let session = Session::initiate(rng, &self.identity, bundle, config)?;
            set.push_current(session, now);
            let sealed = self.store_sessions(&mut txn, rng, peer, &mut set, now)?;
            txn.commit()?;
            self.remember(peer, sealed, set);
            Ok(status)
        })
    }

    /// The session settings for a session `initiator` starts with
    /// `responder`: the account's, with both addresses bound into the
    /// context ahead of the app's (PROTOCOL.md §6.6).
    pub(super) fn bound_config(
        &self,
        initiator: &DeviceAddress,
        responder: &DeviceAddress,
    ) -> crate::Result<SessionConfig> {
        self.config
            .session
            .with_bound_addresses(initiator, responder)
    }

    /// Whether there is a current session with the device (not closed by
    /// a reset or a decryption-error receipt).
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn has_session(&self, peer: &DeviceAddress) -> crate::Result<bool> {
        let mut txn = self.store.transaction()?;
        let (set, sealed) = self.load_sessions_and_record(&mut txn, peer)?;
        let any = set.current().is_some();
        drop(txn);
        self.remember(peer, sealed, set);
        Ok(any)
    }

    /// The handshake id of the current session with the device — the same
    /// on both devices once they settled on one session (see
    /// [`Session::handshake_id`]) — or `None` without a session.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn current_session_id(&self, peer: &DeviceAddress) -> crate::Result<Option<HandshakeId>> {
        let mut txn = self.store.transaction()?;
        let (set, sealed) = self.load_sessions_and_record(&mut txn, peer)?;
        // From the stored route: no session is decoded.
        let id = set.current().map(|e| *e.handshake_id());
        drop(txn);
        self.remember(peer, sealed, set);
        Ok(id)
    }

    /// The devices of `user` this account has sessions with, by device id.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn devices_with_sessions(&self, user: &UserAddress) -> crate::Result<Vec<DeviceAddress>> {
        let mut txn = self.store.transaction()?;
        Ok(txn
            .session_addresses()?
            .into_iter()
            .filter(|a| a.user() == user)
            .collect())
    }

    /// Encrypts a message to a peer device under the current session.
    ///
    /// # Errors
    /// [`AccountError::NoSession`] without a session (start one from the
    /// device's bundle); [`AccountError::SessionExpired`] if this device
    /// started the session and it went unanswered for longer than the
    /// configured time (start a new one from a fresh bundle);
    /// [`MisuseError::PlaintextTooLong`](crate::MisuseError::PlaintextTooLong); a
    /// [`StorageError`](crate::StorageError). On error nothing changed.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        plaintext: &[u8],
        now: u64,
    ) -> crate::Result<Vec<u8>> {
        super::trace::traced("encrypt", plaintext.len(), || {
            let content = app_content(plaintext)?;
            let mut txn = self.store.transaction()?;
            let (bytes, sealed, set) = self.encrypt_in(&mut txn, rng, peer, &content, now)?;
            txn.commit()?;
            self.remember(peer, sealed, set);
            Ok(bytes)
        })
    }

    /// Encrypts one plaintext to each of several peer devices — every
    /// device of a user, say — in one transaction, so a durable store
    /// commits once for all of them. The ciphertexts come back in the
    /// order of `peers`.
    ///
    /// # Errors
    /// As [`Account::encrypt`], for the first device that fails; then
    /// nothing changed and no ciphertext is returned.
    pub fn encrypt_to_each<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peers: &[DeviceAddress],
        plaintext: &[u8],
        now: u64,
    ) -> crate::Result<Vec<Vec<u8>>> {
        super::trace::traced("encrypt_to_each", peers.len(), || {
            let content = app_content(plaintext)?;
            let mut txn = self.store.transaction()?;
            let mut out = Vec::with_capacity(peers.len());
            let mut written = Vec::with_capacity(peers.len());
            for peer in peers {
                let (bytes, sealed, set) = self.encrypt_in(&mut txn, rng, peer, &content, now)?;
                out.push(bytes);
                written.push((peer, sealed, set));
            }
            txn.commit()?;
            // A device listed twice was written twice: the last write is the
            // one the store holds, and `remember` keeps the last.
            for (peer, sealed, set) in written {
                self.remember(peer, sealed, set);
            }
            Ok(out)
        })
    }

    /// Encrypts `content` (an encoded content, PROTOCOL.md §17) to `peer`
    /// under its current session, inside `txn`.
    pub(super) fn encrypt_in<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        content: &[u8],
        now: u64,
    ) -> crate::Result<(Vec<u8>, Option<Vec<u8>>, SessionSet)> {
        let mut set = self.load_sessions(txn, peer)?;
        let pending_ttl = self.config.pending_session_ttl;
        let current = set.current_mut().ok_or(AccountError::NoSession)?;
        let created_at = current.created_at;
        let session = current.session()?;
        if session.sends_prekey_messages() && now.saturating_sub(created_at) > pending_ttl {
            return Err(AccountError::SessionExpired.into());
        }
        let bytes = session.encrypt(rng, content)?;
        current.touch(now);
        let sealed = self.store_sessions(txn, rng, peer, &mut set, now)?;
        Ok((bytes, sealed, set))
    }

    /// Decrypts a message from a peer device: a `Message` under one of the
    /// device's sessions, or a `PreKeyMessage` — for a session already set
    /// up, or setting up a new one from this device's prekeys.
    ///
    /// One transaction: the session update, the use of one-time prekeys
    /// (each is deleted by the decrypt that uses it), the handshake log
    /// and the sender's identity record commit together or not at all.
    ///
    /// # Errors
    /// - [`Error::Decode`](crate::Error::Decode) for malformed bytes;
    /// - [`Error::DecryptionFailed`](crate::Error::DecryptionFailed) if no
    ///   session opens it;
    /// - [`ProtocolError::Duplicate`](crate::ProtocolError::Duplicate) / [`ProtocolError::MessageKeyExpired`](crate::ProtocolError::MessageKeyExpired)
    ///   for a copy already decrypted / a message older than the kept keys;
    /// - [`AccountError::NoSessionForMessage`] for a `Message` from a device
    ///   without a session;
    /// - [`AccountError::UnknownPreKey`] when a `PreKeyMessage` names a
    ///   prekey this device no longer (or never) had;
    ///   [`AccountError::ReplayedHandshake`] for a replay on last-resort
    ///   prekeys; [`AccountError::HandshakeLogFull`] when the last-resort
    ///   prekey it names has answered
    ///   [`MAX_HANDSHAKES_PER_LAST_RESORT_KEY`](crate::client::MAX_HANDSHAKES_PER_LAST_RESORT_KEY)
    ///   handshakes (rotate it; see [`Account::refresh_prekeys`]);
    /// - [`ProtocolError::InvalidPadding`](crate::ProtocolError::InvalidPadding)
    ///   for an authenticated message whose padded plaintext is not one;
    /// - [`AccountError::UnlistedDevice`] when an authenticated
    ///   `PreKeyMessage` comes from a device its user's latest list on
    ///   record does not name with that identity key (a ghost, a removed
    ///   device, or one reinstalled since the list: fetch the user's newer
    ///   lists and try again), [`AccountError::NoDeviceList`] when the
    ///   sender's user has no list on record (fetch it, try again);
    ///   nothing is consumed;
    /// - without device lists
    ///   ([`AccountConfig::with_device_lists_required`](super::AccountConfig::with_device_lists_required)),
    ///   a [`TrustError`](crate::TrustError) when an authenticated
    ///   `PreKeyMessage` carries an identity key the trust policy refuses:
    ///   nothing is consumed, and after
    ///   [`Account::accept_identity`] the same bytes decrypt;
    /// - a [`StorageError`](crate::StorageError).
    ///
    /// On any error, nothing in the store changed; to tell the sender, see
    /// [`Account::decryption_error_receipt`].
    ///
    /// # Security
    /// `peer` is who the message is from, as the server said: every
    /// session binds both devices' addresses (PROTOCOL.md §6.6), so a
    /// message that is not `peer`'s does not authenticate
    /// ([`Error::DecryptionFailed`](crate::Error::DecryptionFailed)). Apps
    /// that get envelopes use [`Account::decrypt_envelope`].
    ///
    /// # Crash safety
    /// The session update is committed before the plaintext is returned:
    /// if the app dies before it has stored the plaintext, the message is
    /// gone (delivered again, it is a [`ProtocolError::Duplicate`](crate::ProtocolError::Duplicate)). Apps
    /// that cannot accept that use [`Account::decrypt_with`].
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        bytes: &[u8],
        now: u64,
    ) -> crate::Result<Decrypted> {
        match self.decrypt_with(rng, peer, bytes, now, |_| {
            Ok::<(), core::convert::Infallible>(())
        })? {
            Ok((decrypted, ())) => Ok(decrypted),
            Err(never) => match never {},
        }
    }

    /// As [`Account::decrypt`], but hands the decrypted message to
    /// `deliver` *inside* the transaction, before it commits: the app
    /// stores the plaintext there (in its own database, or in the same
    /// SQLite file). If `deliver` returns `Err`, or the process dies
    /// before the commit, nothing is committed and the same bytes decrypt
    /// again later — so a message is delivered at least once and never
    /// lost. (If `deliver` committed elsewhere and the process died
    /// before kinseal's commit, it is delivered twice: deduplicate by
    /// message id in the app.)
    ///
    /// Returns the outer `Err` for kinseal's errors (as `decrypt`), or
    /// `Ok(Err(e))` when `deliver` refused with `e` (nothing committed).
    ///
    /// # Errors
    /// As [`Account::decrypt`].
    pub fn decrypt_with<R: CryptoRng + ?Sized, T, E>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        bytes: &[u8],
        now: u64,
        deliver: impl FnOnce(&Decrypted) -> Result<T, E>,
    ) -> crate::Result<Result<(Decrypted, T), E>> {
        super::trace::traced("decrypt", bytes.len(), || {
            let mut txn = self.store.transaction()?;
            let (set, read) = self.load_sessions_and_record(&mut txn, peer)?;
            let (decrypted, sealed, set) =
                match self.decrypt_in(&mut txn, rng, peer, set, bytes, now) {
                    Ok(done) => done,
                    Err((e, intact)) => {
                        // Nothing was written: a set the failure left as
                        // it was is still what `read` holds, so it stays
                        // cached (a forgery neither costs the next message
                        // a decode nor evicts the peer).
                        drop(txn);
                        if let Some(set) = intact {
                            self.remember(peer, read, set);
                        }
                        return Err(e);
                    }
                };
            let delivered = match deliver(&decrypted) {
                Ok(value) => value,
                // Dropping the transaction rolls everything back.
                Err(refused) => return Ok(Err(refused)),
            };
            txn.commit()?;
            self.remember(peer, sealed, set);
            Ok(Ok((decrypted, delivered)))
        })
    }

    /// Decrypts `bytes` from `peer`, whose sessions are `set`, and makes
    /// every write it implies in `txn` (the session update, the prekeys it
    /// used, the handshake log, the sender's records, what a group control
    /// message changes): the decrypted message and the sealed session
    /// record written, with the set, for [`Account::remember`] after the
    /// commit. On failure, the error, and the set if the failure left it
    /// and `txn` untouched (it is then still what the store holds).
    pub(super) fn decrypt_in<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        set: SessionSet,
        bytes: &[u8],
        now: u64,
    ) -> Result<DecryptedIn, (Error, Option<SessionSet>)> {
        let (decrypted, mut set) = self.decrypt_unstored(txn, rng, peer, set, bytes, now)?;
        let sealed = self
            .store_sessions(txn, rng, peer, &mut set, now)
            .map_err(|e| (e, None))?;
        Ok((decrypted, sealed, set))
    }

    /// [`Account::decrypt_in`] but for the session update, which stays in
    /// the returned set: the caller writes it (`store_sessions`) before
    /// `txn` commits. On failure, as `decrypt_in`.
    pub(super) fn decrypt_unstored<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        mut set: SessionSet,
        bytes: &[u8],
        now: u64,
    ) -> Result<(Decrypted, SessionSet), (Error, Option<SessionSet>)> {
        // Decoded once, here, then tried on the session(s) it can belong
        // to. A `Message` from a device without a session is refused
        // first, as it always was, whatever its bytes hold after the kind.
        let kind = match message_kind(bytes) {
            Ok(kind) => kind,
            Err(e) => return Err((e, Some(set))),
        };
        if kind == MessageKind::Message && set.is_empty() {
            return Err((AccountError::NoSessionForMessage.into(), Some(set)));
        }
        let message = match IncomingMessage::from_bytes(bytes) {
            Ok(message) => message,
            Err(e) => return Err((e, Some(set))),
        };
        let existing = match &message {
            IncomingMessage::Message(_) => Some(None),
            IncomingMessage::PreKey(prekey_message) => {
                set.find_handshake(&prekey_message.handshake_id()).map(Some)
            }
        };
        let decrypted = match (existing, &message) {
            (Some(only), _) => match set.decrypt(only, &message, now) {
                Ok(plaintext) => Decrypted {
                    plaintext,
                    identity: IdentityStatus::Known,
                    new_session: false,
                    group: None,
                },
                // A failed decrypt left every session as it was.
                Err(e) => return Err((e, Some(set))),
            },
            (None, IncomingMessage::PreKey(prekey_message)) => self
                .answer(txn, rng, peer, &mut set, prekey_message, now)
                .map_err(|e| (e, None))?,
            (None, IncomingMessage::Message(_)) => {
                return Err((Error::DecryptionFailed, Some(set)));
            }
        };
        // Authenticated: what it carries is the account's to take, in
        // this transaction (a refusal rolls the whole message back).
        let decrypted = self
            .take_content(txn, rng, peer, decrypted)
            .map_err(|e| (e, None))?;
        Ok((decrypted, set))
    }

    /// Sets up a session from a `PreKeyMessage` for a new handshake.
    fn answer<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        peer: &DeviceAddress,
        set: &mut SessionSet,
        message: &PreKeyMessage,
        now: u64,
    ) -> crate::Result<Decrypted> {
        let handshake_id = message.handshake_id();
        if txn.contains_handshake(handshake_id.as_bytes())? {
            return Err(AccountError::ReplayedHandshake.into());
        }
        let signed_id = message.signed_prekey_id();
        let signed = self.load_signed_prekey(txn, signed_id)?;
        let one_time = match message.one_time_prekey_id() {
            Some(id) => Some(self.load_one_time_prekey(txn, id)?),
            None => None,
        };
        let kem = self.find_kem_prekey(txn, message.kem_prekey_id())?;
        // The sender bound its address and this device's into the
        // session: a message the server relabeled does not authenticate.
        let config = self.bound_config(peer, &self.address)?;
        let inbound = Session::respond(
            &self.identity,
            &signed,
            one_time.as_ref(),
            &kem,
            message,
            config,
        )?;
        // Nothing one-time is used up, so only the log stops a replay: it
        // must have room (refusing is safe; forgetting an id is not).
        let logged = one_time.is_none() && kem.is_last_resort();
        if logged && txn.handshake_count(kem.id())? >= MAX_HANDSHAKES_PER_LAST_RESORT_KEY {
            return Err(AccountError::HandshakeLogFull {
                last_resort_id: kem.id(),
                max: MAX_HANDSHAKES_PER_LAST_RESORT_KEY,
            }
            .into());
        }
        // Only now, with the message authenticated, is its identity key
        // worth a trust decision: a forged message cannot make the app
        // report a changed identity.
        let identity = self.check_device(txn, rng, peer, message.identity_key(), set, now)?;
        if let Some(key) = &one_time {
            txn.remove_one_time_prekey(key.id())?;
        }
        if !kem.is_last_resort() {
            txn.remove_kem_prekey(kem.id())?;
        }
        if logged {
            // Nothing one-time was used up, so nothing else stops this
            // message from being answered again while the key is kept.
            txn.record_handshake(handshake_id.as_bytes(), kem.id())?;
        }
        set.insert_answered(inbound.session, now);
        Ok(Decrypted {
            plaintext: inbound.plaintext,
            identity,
            new_session: true,
            group: None,
        })
    }

    /// Drops archived sessions idle for longer than the configured time,
    /// across every peer device, in one transaction; returns how many
    /// devices' records changed.
    ///
    /// # Errors
    /// A [`StorageError`](crate::StorageError).
    pub fn expire_sessions<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        now: u64,
    ) -> crate::Result<usize> {
        let mut txn = self.store.transaction()?;
        let mut written = Vec::new();
        let mut changed = 0;
        for peer in txn.session_addresses()? {
            let (mut set, read) = self.load_sessions_and_record(&mut txn, &peer)?;
            let before = set.entries.len();
            let c = &self.config;
            set.trim(c.max_archived_sessions, c.archived_session_ttl, now);
            if set.entries.len() == before {
                written.push((peer, read, set));
            } else {
                let sealed = self.store_sessions(&mut txn, rng, &peer, &mut set, now)?;
                written.push((peer, sealed, set));
                changed += 1;
            }
        }
        txn.commit()?;
        for (peer, sealed, set) in written {
            self.remember(&peer, sealed, set);
        }
        Ok(changed)
    }
}
