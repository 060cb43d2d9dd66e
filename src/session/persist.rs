//! Session persistence: `Session::to_bytes` and `Session::from_bytes`.
//!
//! This file handles the session's envelope (role, identities, associated
//! data, base key, handshake id and pending setup data); the ratchet
//! persists and checks itself (`DoubleRatchet::{to_frame, from_frame}`).

use super::{Padding, PendingPreKey, Role, Session};
use crate::SecretBytes;
use crate::keys::{IdentityKey, X25519PublicKey, prekey_x25519};
use crate::message::HandshakeId;
use crate::ratchet::{Bounds, DoubleRatchet, invalid_state};
use crate::wire::{Frame, IdentityForms, PendingPreKeyFrame, SessionFrame};

impl Session {
    /// Serializes the whole session state, secrets included, into a
    /// versioned encoding (layout in `docs/PROTOCOL.md`). The buffer zeroizes
    /// itself when dropped.
    ///
    /// # Security
    /// The encoding holds the session's secrets: store it encrypted and
    /// authenticated at rest (as `kinseal::client`'s stores seal it), and
    /// store it after every `encrypt` and `decrypt`, or a restart will
    /// roll the session back. [`Session::from_bytes`] checks the keys of a
    /// current-revision state for their encodings only: their integrity
    /// is the seal's.
    pub fn to_bytes(&self) -> SecretBytes {
        let frame = SessionFrame {
            suite: crate::wire::SUITE_V1,
            initiator: self.is_initiator(),
            local_identity: self.local_identity.to_bytes(),
            remote_identity: self.remote_identity.to_bytes(),
            identity_forms: Some(IdentityForms {
                local: *self.local_identity.x25519_public(),
                remote: *self.remote_identity.x25519_public(),
            }),
            session_ad: self.session_ad,
            base_key: *self.base_key.as_bytes(),
            handshake_id: *self.handshake_id.as_bytes(),
            padding_block: self.padding.block(),
            padding_padme: self.padding.padme(),
            ratchet: self.ratchet.to_frame(),
            pending: self.pending().map(|p| PendingPreKeyFrame {
                prekeys: p.prekeys,
                kem_ciphertext: p.kem_ciphertext.clone(),
            }),
        };
        SecretBytes::new(frame.to_secret_vec())
    }

    /// Restores a session from [`Session::to_bytes`].
    ///
    /// Every field is checked — structure first, then the bounds, then every
    /// key, then the consistency of the chains, the skipped-key store and the
    /// role with each other — so a corrupted or forged state is an error,
    /// never a panic or a session that misbehaves later.
    ///
    /// A state of the current revision (PROTOCOL.md §4.4) stores the values
    /// derived from its keys, which were validated when they entered the
    /// session: restoring it checks their encodings but does no point
    /// arithmetic (about a microsecond). A state of revision 1 is still
    /// read, with every key validated and the derived values recomputed
    /// (tens of microseconds); [`Session::to_bytes`] writes the current
    /// revision.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) for any malformed or inconsistent state;
    /// [`Error::Misuse`](crate::Error::Misuse) if its padding block or its
    /// bounds are outside the allowed ranges.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Session> {
        let SessionFrame {
            suite: _,
            initiator,
            local_identity,
            remote_identity,
            identity_forms,
            session_ad,
            base_key,
            handshake_id,
            padding_block,
            padding_padme,
            ratchet,
            pending,
        } = SessionFrame::decode(bytes)?;
        // The order of the checks decides which error a state with several
        // faults reports: the padding and the bounds (both settings), the
        // envelope's keys, then the rest of the ratchet (whose own check of
        // its bounds then passes), then the role.
        let padding = Padding::new(padding_block, padding_padme)?;
        Bounds::from_frame(&ratchet)?;
        // Revision 2 stores what revision 1's keys are validated and
        // mapped for; its keys were validated before they were stored.
        let stored = identity_forms.is_some();
        let (local_identity, remote_identity, base_key) = match identity_forms {
            Some(forms) => (
                IdentityKey::from_stored(&local_identity, &forms.local)?,
                IdentityKey::from_stored(&remote_identity, &forms.remote)?,
                X25519PublicKey::from_stored(&base_key)?,
            ),
            None => (
                IdentityKey::from_bytes(&local_identity)?,
                IdentityKey::from_bytes(&remote_identity)?,
                prekey_x25519(&base_key)?,
            ),
        };
        let ratchet = DoubleRatchet::from_frame(ratchet, initiator, stored)?;
        let pending = pending.map(|p| PendingPreKey {
            prekeys: p.prekeys,
            kem_ciphertext: p.kem_ciphertext,
        });
        // Only an initiator sends setup data.
        let role = match (initiator, pending) {
            (true, pending) => Role::Initiator { pending },
            (false, None) => Role::Responder,
            (false, Some(_)) => return Err(invalid_state("role", 1)),
        };
        Ok(Session {
            role,
            local_identity,
            remote_identity,
            session_ad,
            base_key,
            handshake_id: HandshakeId::from_bytes(handshake_id),
            padding,
            ratchet,
        })
    }
}
