//! A link revocation: one of the two accounts of an account link says the
//! link no longer holds (PROTOCOL.md §15.4). The byte layout is in
//! `wire/account_link.rs`.

use core::fmt;

use super::{Short, UserIdentityKey, UserIdentityKeyPair, VerifiedAccountLink};
use crate::crypto::labels::SIG_LINK_REVOCATION;
use crate::error::{AccountLinkError, MisuseError, SignedObject};
use crate::wire::{ACCOUNT_LINK_HASH_LEN, Frame, LinkRevocationFrame, SIGNATURE_LEN};

/// A revocation of an account link, signed by the user identity key of
/// one of its two accounts (PROTOCOL.md §15.4).
///
/// [`LinkRevocation::from_bytes`] checks the structure and the revoking
/// key; [`LinkRevocation::verify`] checks it against the link it revokes.
///
/// Revoking is best effort: it reaches only those the person sends it to,
/// and a contact who saw the link keeps what it learned from it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkRevocation {
    link_hash: [u8; ACCOUNT_LINK_HASH_LEN],
    revoked_at: u64,
    revoker: UserIdentityKey,
    signature: [u8; SIGNATURE_LEN],
}

impl LinkRevocation {
    /// Revokes `link`, signed by `signer`, the user key pair of one of its
    /// two accounts, at `revoked_at` (seconds since the Unix epoch,
    /// informational).
    ///
    /// # Errors
    /// [`MisuseError::WrongLinkKey`] unless `signer`'s key is one of the
    /// link's two.
    pub fn new(
        link: &VerifiedAccountLink,
        signer: &UserIdentityKeyPair,
        revoked_at: u64,
    ) -> crate::Result<Self> {
        if !link.involves(signer.public_key()) {
            return Err(MisuseError::WrongLinkKey.into());
        }
        let mut revocation = LinkRevocation {
            link_hash: *link.hash(),
            revoked_at,
            revoker: signer.public_key().clone(),
            signature: [0; SIGNATURE_LEN],
        };
        revocation.signature = signer.sign(SIG_LINK_REVOCATION, &[&revocation.body()]);
        Ok(revocation)
    }

    /// Decodes a revocation: the structure (139 bytes, front to back), then
    /// the revoking user key. Whether it revokes a given link, signature
    /// included, is [`LinkRevocation::verify`].
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with
    /// [`WireType::LinkRevocation`](crate::WireType::LinkRevocation) for
    /// malformed bytes; `InvalidKey` with
    /// [`KeyKind::UserIdentity`](crate::KeyKind::UserIdentity).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let frame = LinkRevocationFrame::decode(bytes)?;
        Ok(LinkRevocation {
            link_hash: frame.link_hash,
            revoked_at: frame.revoked_at,
            revoker: UserIdentityKey::from_bytes(&frame.revoker)?,
            signature: frame.signature,
        })
    }

    /// Checks that this revokes `link`, in this order: it names `link`'s
    /// hash, its revoker is one of `link`'s two user keys, and the revoker
    /// signed `"KINSEAL-v1 link revocation\0" ‖` every byte before the
    /// signature.
    ///
    /// # Errors
    /// [`AccountLinkError::OtherLink`], [`AccountLinkError::NotLinked`],
    /// then [`ProtocolError::InvalidSignature`](crate::ProtocolError::InvalidSignature)
    /// with [`SignedObject::LinkRevocation`].
    ///
    /// # Security
    /// A verified revocation means one of the two accounts no longer
    /// stands by the link: stop showing the two as one person. It says
    /// nothing about which account (either may revoke alone), and there is
    /// no undoing it: a new link, with its own hash, is the way back.
    pub fn verify(&self, link: &VerifiedAccountLink) -> crate::Result<()> {
        if self.link_hash != *link.hash() {
            return Err(AccountLinkError::OtherLink.into());
        }
        if !link.involves(&self.revoker) {
            return Err(AccountLinkError::NotLinked.into());
        }
        self.revoker.verify(
            SignedObject::LinkRevocation,
            SIG_LINK_REVOCATION,
            &[&self.body()],
            &self.signature,
        )?;
        Ok(())
    }

    fn frame(&self) -> LinkRevocationFrame {
        LinkRevocationFrame {
            link_hash: self.link_hash,
            revoked_at: self.revoked_at,
            revoker: self.revoker.to_bytes(),
            signature: self.signature,
        }
    }

    /// Every byte before the signature: what it covers.
    fn body(&self) -> Vec<u8> {
        let mut bytes = self.frame().to_vec();
        bytes.truncate(LinkRevocationFrame::BODY_LEN);
        bytes
    }

    /// The encoding (139 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.frame().to_vec()
    }

    /// The hash of the link revoked ([`VerifiedAccountLink::hash`]).
    pub fn link_hash(&self) -> &[u8; ACCOUNT_LINK_HASH_LEN] {
        &self.link_hash
    }

    /// When the link was revoked, as the revoker's app gave it.
    pub fn revoked_at(&self) -> u64 {
        self.revoked_at
    }

    /// The user key that signed (or claims to have signed) the revocation.
    pub fn revoker(&self) -> &UserIdentityKey {
        &self.revoker
    }
}

impl fmt::Debug for LinkRevocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkRevocation")
            .field("link_hash", &Short(&self.link_hash))
            .field("revoked_at", &self.revoked_at)
            .field("revoker", &self.revoker)
            .finish_non_exhaustive()
    }
}
