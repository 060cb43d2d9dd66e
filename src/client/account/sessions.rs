//! The sessions with one peer device: the current one and a bounded list
//! of archived ones, and the rules that pick which one is current.
//!
//! # Choosing the current session
//!
//! Two devices that start sessions with each other at the same time each
//! end up with two sessions: the one they started (still *pending*: no
//! reply decrypted yet) and the one the other started. Both must settle on
//! the same one without a message being lost. The rules:
//!
//! 1. A `PreKeyMessage` that sets up a new session makes it current —
//!    unless the current session is pending and has the smaller handshake
//!    id, in which case the new one is archived. Both devices see both
//!    handshake ids, so both keep the same session (the one with the
//!    smaller id).
//! 2. When a `Message` decrypts under an archived session, that session is
//!    promoted to current: the peer sent it there after hearing from this
//!    device on it, so it is a session the peer uses. When a copy of a
//!    `PreKeyMessage` does, its session is promoted only if the current
//!    session is pending and has the larger handshake id (rule 1 again,
//!    seen from the other side); otherwise a late copy of an old first
//!    message would pull both devices back to a session they left.
//! 3. Messages never sent under the current session are still decrypted by
//!    the archived session they belong to, so nothing sent during the
//!    switch is lost. Archived sessions are kept up to a configured count
//!    and expire after a configured idle time.

use zeroize::Zeroizing;

use crate::address::DeviceAddress;
use crate::client::keyring::SealBase;
use crate::error::{ProtocolError, StorageError};
use crate::sizes::KEY_LEN;
use crate::wire::{Frame, SessionEntryFrame, SessionSetFrame};
use crate::{Error, HandshakeId, IncomingMessage, Message, SecretBytes, Session};

/// The first bytes of a ratchet key that a `Message`'s receiver hint holds.
const HINT_LEN: usize = 4;

/// What routes a message to a session, and decides which session is
/// current, without decoding it: the session's handshake id (a
/// `PreKeyMessage` names it), whether it is pending (still sends
/// `PreKeyMessage`s: rules 1 and 2), the peer's ratchet keys of the
/// receiving chains it keeps, and its own current ratchet public key (a
/// new chain of the peer's is derived with it, and its messages' receiver
/// hint is its first bytes). Stored with the session's record and always
/// what the session itself holds: recomputed whenever the session changes,
/// and checked against the session when a stored one is decoded.
#[derive(PartialEq, Eq)]
struct Route {
    handshake_id: HandshakeId,
    pending: bool,
    ours: Option<[u8; KEY_LEN]>,
    receiving: Vec<[u8; KEY_LEN]>,
}

impl Route {
    fn of(session: &Session) -> Self {
        Route {
            handshake_id: *session.handshake_id(),
            pending: session.sends_prekey_messages(),
            ours: session.our_ratchet_key().copied(),
            receiving: session.receiving_ratchet_keys().copied().collect(),
        }
    }

    /// Whether the session has a receiving chain under `ratchet_key`.
    fn knows(&self, ratchet_key: &[u8; KEY_LEN]) -> bool {
        self.receiving.iter().any(|k| k == ratchet_key)
    }

    /// Whether a new chain whose messages carry `hint` may be the peer's
    /// answer to this session's ratchet key.
    fn hinted(&self, hint: &[u8; HINT_LEN]) -> bool {
        self.ours
            .as_ref()
            .is_some_and(|k| k.get(..HINT_LEN) == Some(&hint[..]))
    }
}

/// Whether an error says the message belongs to the session that reported
/// it (so it is the error to report), rather than that it does not
/// authenticate there.
fn is_specific(e: &Error) -> bool {
    matches!(
        e,
        Error::Protocol(ProtocolError::Duplicate { .. } | ProtocolError::MessageKeyExpired { .. })
    )
}

/// One session of a set, kept as its record until it is needed.
pub(super) struct Entry {
    pub(super) created_at: u64,
    pub(super) last_used: u64,
    record: SecretBytes,
    route: Route,
    decoded: Option<Session>,
    dirty: bool,
}

impl Entry {
    fn new(session: Session, now: u64) -> Self {
        Entry {
            created_at: now,
            last_used: now,
            record: SecretBytes::new(Zeroizing::new(Vec::new())),
            route: Route::of(&session),
            decoded: Some(session),
            dirty: true,
        }
    }

    /// The session, decoded from its record on first use. A record whose
    /// route (handshake id, pending flag, routing keys) is not the
    /// session's own is refused: routing would send its messages elsewhere,
    /// and rules 1 and 2 would decide on values the session does not hold.
    pub(super) fn session(&mut self) -> crate::Result<&mut Session> {
        let session = match self.decoded.take() {
            Some(s) => s,
            None => {
                let s = Session::from_bytes(&self.record)?;
                if Route::of(&s) != self.route {
                    return Err(StorageError::InvalidRecord { table: "sessions" }.into());
                }
                s
            }
        };
        Ok(self.decoded.insert(session))
    }

    /// Marks the session as changed and used at `now`, and recomputes its
    /// route from it (a decrypt may add a receiving chain or end the
    /// pending state, an encrypt may step the ratchet key).
    pub(super) fn touch(&mut self, now: u64) {
        self.dirty = true;
        self.last_used = self.last_used.max(now);
        if let Some(s) = &self.decoded {
            self.route = Route::of(s);
        }
    }

    /// The session's handshake id, from its route: no decode.
    pub(super) fn handshake_id(&self) -> &HandshakeId {
        &self.route.handshake_id
    }

    /// Whether this device started the session and has not yet decrypted
    /// a reply, from its route: no decode.
    pub(super) fn pending(&self) -> bool {
        self.route.pending
    }
}

/// A session set written in a transaction, to cache once it commits: the
/// device, the sealed record written, the set.
pub(super) type Written = (crate::address::DeviceAddress, Option<Vec<u8>>, SessionSet);

/// The current session (first) and the archived ones, most recent first;
/// or, once *closed*, only archived ones (a reset or a decryption-error
/// receipt closed the current session: the next message to the device
/// needs a new one, while messages still on their way on the old ones
/// keep decrypting).
#[derive(Default)]
pub(super) struct SessionSet {
    pub(super) entries: Vec<Entry>,
    closed: bool,
    /// The cold part of the split record the set was read from or last
    /// written as (STORAGE.md §2.5), which the next write patches when
    /// little changed; `None` for a set not yet stored split. (Boxed: a
    /// set travels in results and errors by value.)
    pub(super) base: Option<Box<SealBase>>,
}

/// What kind of message decrypted under an archived session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arrival {
    PreKeyMessage,
    Message,
}

impl SessionSet {
    /// Decodes a session-set record (already opened from its seal).
    pub(super) fn decode(bytes: &[u8]) -> crate::Result<Self> {
        let frame = SessionSetFrame::decode(bytes)?;
        Ok(SessionSet {
            closed: frame.closed,
            entries: frame
                .entries
                .iter()
                .map(|e| Entry {
                    created_at: e.created_at,
                    last_used: e.last_used,
                    record: SecretBytes::new(Zeroizing::new(e.session.to_vec())),
                    route: Route {
                        handshake_id: HandshakeId::from_bytes(e.handshake_id),
                        pending: e.pending,
                        ours: e.our_ratchet_key,
                        receiving: e.receiving_keys.clone(),
                    },
                    decoded: None,
                    dirty: false,
                })
                .collect(),
            base: None,
        })
    }

    /// Encodes the set, re-serializing (and re-routing) only the sessions
    /// that changed.
    pub(super) fn encode(&mut self) -> Zeroizing<Vec<u8>> {
        for e in &mut self.entries {
            if e.dirty {
                if let Some(s) = &e.decoded {
                    e.record = s.to_bytes();
                    e.route = Route::of(s);
                }
                e.dirty = false;
            }
        }
        SessionSetFrame {
            closed: self.closed,
            entries: self
                .entries
                .iter()
                .map(|e| SessionEntryFrame {
                    created_at: e.created_at,
                    last_used: e.last_used,
                    handshake_id: *e.route.handshake_id.as_bytes(),
                    pending: e.route.pending,
                    our_ratchet_key: e.route.ours,
                    receiving_keys: e.route.receiving.clone(),
                    session: &e.record,
                })
                .collect(),
        }
        .to_secret_vec()
    }

    /// The entries `message` can belong to, in set order, found from the
    /// routing keys alone (no session is decoded): those with a receiving
    /// chain under its ratchet key; failing that, those whose own ratchet
    /// key starts with its receiver hint (a new chain of the peer's). Any
    /// other session would refuse it — an unknown ratchet key needs the
    /// session's own key for its first DH — so nothing else is tried.
    fn route(&self, message: &Message) -> Vec<usize> {
        let key = message.ratchet_key();
        let known: Vec<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.route.knows(key))
            .map(|(i, _)| i)
            .collect();
        if !known.is_empty() {
            return known;
        }
        let hint = message.receiver_hint();
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.route.hinted(hint))
            .map(|(i, _)| i)
            .collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The current session's entry: the first, unless the set is closed.
    pub(super) fn current(&self) -> Option<&Entry> {
        self.entries.first().filter(|_| !self.closed)
    }

    /// As [`SessionSet::current`], mutably.
    pub(super) fn current_mut(&mut self) -> Option<&mut Entry> {
        self.entries.first_mut().filter(|_| !self.closed)
    }

    /// Closes the current session: it stays, archived, for the messages
    /// still on their way, but nothing is sent on it again. Whether there
    /// was a current session.
    pub(super) fn close(&mut self) -> bool {
        let had = self.current().is_some();
        self.closed = true;
        had
    }

    /// The position of the session whose own ratchet key (its current
    /// one, which its sent messages carry) is `key`.
    pub(super) fn find_ratchet_key(&self, key: &[u8; KEY_LEN]) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.route.ours.as_ref() == Some(key))
    }

    /// The position of the session set up by the handshake `id`, found
    /// from the stored handshake ids alone: no session is decoded, so a
    /// `PreKeyMessage` for a new (or forged) handshake costs nothing here
    /// whatever the number of sessions.
    pub(super) fn find_handshake(&self, id: &HandshakeId) -> Option<usize> {
        self.entries.iter().position(|e| e.handshake_id() == id)
    }

    /// Decrypts under an existing session: entry `only` if given (the one
    /// a `PreKeyMessage`'s handshake id names), else the entries
    /// [`SessionSet::route`] names for the `Message`, in set order. No
    /// other session is decoded or tried. Then applies rule 2.
    pub(super) fn decrypt(
        &mut self,
        only: Option<usize>,
        message: &IncomingMessage,
        now: u64,
    ) -> crate::Result<Vec<u8>> {
        let (arrival, candidates) = match (only, message) {
            (Some(i), _) => (Arrival::PreKeyMessage, vec![i]),
            (None, IncomingMessage::Message(m)) => (Arrival::Message, self.route(m)),
            (None, IncomingMessage::PreKey(_)) => (Arrival::PreKeyMessage, Vec::new()),
        };
        let mut first_error = None;
        for index in candidates {
            let Some(entry) = self.entries.get_mut(index) else {
                continue;
            };
            match entry.session()?.decrypt_incoming(message) {
                Ok(plaintext) => {
                    entry.touch(now);
                    self.after_decrypt(index, arrival);
                    return Ok(plaintext);
                }
                Err(e) if is_specific(&e) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Error::DecryptionFailed))
    }

    /// Makes `session` the current one (the caller started it).
    pub(super) fn push_current(&mut self, session: Session, now: u64) {
        self.entries.insert(0, Entry::new(session, now));
        self.closed = false;
    }

    /// Adds a session a `PreKeyMessage` set up (rule 1), deciding from
    /// the current session's route (no decode).
    pub(super) fn insert_answered(&mut self, session: Session, now: u64) {
        let keep_current = self.current().is_some_and(|current| {
            current.pending() && current.handshake_id() < session.handshake_id()
        });
        let at = usize::from(keep_current);
        self.entries.insert(at, Entry::new(session, now));
        // A closed set waited for a new session: this is one.
        self.closed = false;
    }

    /// Applies rule 2 after a message of kind `arrival` decrypted under
    /// entry `index`, deciding from the routes (no decode).
    fn after_decrypt(&mut self, index: usize, arrival: Arrival) {
        // In a closed set every session is archived and stays so: what
        // was closed is not reopened by its late messages.
        if index == 0 || self.closed {
            return;
        }
        let (Some(current), Some(entry)) = (self.entries.first(), self.entries.get(index)) else {
            return;
        };
        let promote = match arrival {
            // The peer sent it on that session after hearing from us
            // there: it is the session the peer uses.
            Arrival::Message => true,
            // A copy of a first message says nothing about what the peer
            // uses now, except under simultaneous initiation (rule 1).
            Arrival::PreKeyMessage => {
                current.pending() && entry.handshake_id() < current.handshake_id()
            }
        };
        if promote {
            let entry = self.entries.remove(index);
            self.entries.insert(0, entry);
        }
    }

    /// Drops archived sessions idle for longer than `ttl` and those beyond
    /// the `max_archived` most recent. The current session is never
    /// dropped here.
    pub(super) fn trim(&mut self, max_archived: usize, ttl: u64, now: u64) {
        let mut first = !self.closed;
        self.entries.retain(|e| {
            let keep = first || now.saturating_sub(e.last_used) <= ttl;
            first = false;
            keep
        });
        self.entries
            .truncate(usize::from(!self.closed) + max_archived);
    }

    /// Forgets every session (the peer's identity key changed).
    /// Drops every entry.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.closed = false;
    }
}

/// Decoded session sets of recently used peer devices, each with the exact
/// sealed record it was read from or written as.
///
/// A miss opens the stored set (both seals of a split record,
/// STORAGE.md §2.5) and decodes it, and the session used is then decoded
/// from its state (`Session::from_bytes`, about 0.6 µs). An entry is used
/// only when the store still holds byte-for-byte the record it was cached
/// with — every write draws a fresh random nonce for the seal it writes
/// (the hot part's, when the cold part is kept), so any write by any
/// process changes the bytes — which keeps the cache coherent across
/// threads and processes without invalidation. Entries are put back only
/// after a commit.
#[derive(Default)]
pub(super) struct SessionCache {
    entries: Vec<(DeviceAddress, Vec<u8>, SessionSet)>,
}

impl SessionCache {
    /// Removes the entry for `peer`, returning its set if it was cached
    /// with exactly `sealed`.
    pub(super) fn take(&mut self, peer: &DeviceAddress, sealed: &[u8]) -> Option<SessionSet> {
        let i = self.entries.iter().position(|(a, _, _)| a == peer)?;
        let (_, cached, set) = self.entries.remove(i);
        (cached == sealed).then_some(set)
    }

    /// Caches `set` as the contents of `sealed`, evicting the least
    /// recently stored entry beyond `capacity`.
    pub(super) fn put(
        &mut self,
        peer: &DeviceAddress,
        sealed: Vec<u8>,
        set: SessionSet,
        capacity: usize,
    ) {
        self.forget(peer);
        if capacity == 0 {
            return;
        }
        while self.entries.len() >= capacity {
            self.entries.remove(0);
        }
        self.entries.push((peer.clone(), sealed, set));
    }

    /// Drops the entry for `peer`, if any.
    pub(super) fn forget(&mut self, peer: &DeviceAddress) {
        self.entries.retain(|(a, _, _)| a != peer);
    }

    /// Drops every entry.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests;
