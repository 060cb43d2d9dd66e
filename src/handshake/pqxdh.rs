//! The two sides of the hybrid handshake.

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::crypto::{dh, kdf, kem, labels};
use crate::error::{MisuseError, PreKeyRole};
use crate::keys::{
    IdentityKey, IdentityKeyPair, KemPreKeyPair, OneTimePreKeyPair, SignedPreKeyPair,
    VerifiedBundle, X25519PublicKey,
};
use crate::message::PreKeyMessage;
use crate::ratchet::OurRatchetKey;
use crate::wire::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, PROTOCOL_VERSION, PreKeyFrame};

/// What both sides of a handshake derive.
pub(crate) struct SessionSecrets {
    keys: kdf::HandshakeKeys,
    session_ad: [u8; 32],
}

impl SessionSecrets {
    /// The session associated-data digest.
    pub(crate) fn session_ad(&self) -> &[u8; 32] {
        &self.session_ad
    }

    /// The first root key, the first chain key and the two first header
    /// keys, for the ratchet.
    pub(crate) fn into_keys(self) -> kdf::HandshakeKeyParts {
        self.keys.into_parts()
    }
}

/// The initiator's result: the secrets, its base key pair, and what the
/// responder needs to know to repeat the derivation.
pub(crate) struct Initiation {
    secrets: SessionSecrets,
    /// The base key pair, which is also the initiator's first ratchet key.
    base: OurRatchetKey,
    prekeys: PreKeyFrame,
    kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
    remote_identity: IdentityKey,
}

impl Initiation {
    /// The initiator's base public key.
    pub(crate) fn base_public(&self) -> &X25519PublicKey {
        self.base.public()
    }

    /// Which of the responder's prekeys were used.
    pub(crate) fn prekeys(&self) -> &PreKeyFrame {
        &self.prekeys
    }

    /// The ML-KEM ciphertext.
    pub(crate) fn kem_ciphertext(&self) -> &[u8; KEM_CIPHERTEXT_LEN] {
        &self.kem_ciphertext
    }

    /// Splits the result into what a session keeps: the secrets, the base
    /// key pair (the first ratchet key), the setup data it repeats (the
    /// prekey ids and the KEM ciphertext) and the responder's identity.
    pub(crate) fn into_parts(
        self,
    ) -> (
        SessionSecrets,
        OurRatchetKey,
        PreKeyFrame,
        Box<[u8; KEM_CIPHERTEXT_LEN]>,
        IdentityKey,
    ) {
        let Initiation {
            secrets,
            base,
            prekeys,
            kem_ciphertext,
            remote_identity,
        } = self;
        (secrets, base, prekeys, kem_ciphertext, remote_identity)
    }
}

impl ZeroizeOnDrop for SessionSecrets {}
impl ZeroizeOnDrop for Initiation {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(secrets: &SessionSecrets, init: &Initiation) {
    use crate::hygiene::zod;
    // The session AD is a hash of public values (identities and context).
    let SessionSecrets {
        keys,
        session_ad: _,
    } = secrets;
    zod(keys);
    // Everything but the base key pair's secret is sent in the clear.
    let Initiation {
        secrets,
        base,
        prekeys: _,
        kem_ciphertext: _,
        remote_identity: _,
    } = init;
    zod(secrets);
    zod(base);
}

/// The public inputs of the transcript hash.
struct Transcript<'a> {
    initiator: &'a IdentityKey,
    responder: &'a IdentityKey,
    prekeys: PreKeyFrame,
    signed_prekey: &'a [u8; 32],
    one_time_prekey: Option<&'a [u8; 32]>,
    kem_public: &'a [u8; KEM_PUBLIC_KEY_LEN],
    base_key: &'a [u8; 32],
    kem_ciphertext: &'a [u8; KEM_CIPHERTEXT_LEN],
}

impl Transcript<'_> {
    fn hash(&self) -> [u8; 32] {
        let spk_id = self.prekeys.signed_prekey_id.to_be_bytes();
        let kem_id = self.prekeys.kem_prekey_id.to_be_bytes();
        let opk_id = self.prekeys.one_time_prekey_id.unwrap_or(0).to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![
            labels::TRANSCRIPT,
            &[PROTOCOL_VERSION, crate::wire::SUITE_V1],
            self.initiator.as_bytes(),
            self.responder.as_bytes(),
            &spk_id,
            self.signed_prekey,
        ];
        match self.one_time_prekey {
            Some(opk) => {
                parts.push(&[1]);
                parts.push(&opk_id);
                parts.push(opk);
            }
            None => parts.push(&[0]),
        }
        parts.extend_from_slice(&[
            &kem_id[..],
            &self.kem_public[..],
            self.base_key,
            &self.kem_ciphertext[..],
        ]);
        kdf::sha256(&parts)
    }
}

/// The session associated-data digest: SHA-256(label ‖ version ‖ suite ‖
/// IK_initiator ‖ IK_responder ‖ u32 context length ‖ context).
pub(crate) fn session_ad(
    initiator: &IdentityKey,
    responder: &IdentityKey,
    context: &[u8],
) -> [u8; 32] {
    let len = u32::try_from(context.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes();
    kdf::sha256(&[
        labels::SESSION_AD,
        &[PROTOCOL_VERSION, crate::wire::SUITE_V1],
        initiator.as_bytes(),
        responder.as_bytes(),
        &len,
        context,
    ])
}

fn derive(
    dh_outputs: &[&[u8; 32]],
    kem_secret: &[u8; 32],
    transcript: &Transcript<'_>,
    context: &[u8],
) -> SessionSecrets {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * (dh_outputs.len() + 2)));
    ikm.extend_from_slice(&[0xFF; 32]);
    for d in dh_outputs {
        ikm.extend_from_slice(&d[..]);
    }
    ikm.extend_from_slice(kem_secret);
    SessionSecrets {
        keys: kdf::handshake(&ikm, &transcript.hash()),
        session_ad: session_ad(transcript.initiator, transcript.responder, context),
    }
}

/// The initiator's side.
pub(crate) fn initiate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    ours: &IdentityKeyPair,
    bundle: &VerifiedBundle,
    context: &[u8],
) -> crate::Result<Initiation> {
    let b = bundle.bundle();
    let their_identity = b.identity_key();
    let spk = b.signed_prekey();
    let opk = b.one_time_prekey();
    let kem_prekey = b.kem_prekey();

    let base = OurRatchetKey::from_secret(StaticSecret::random_from_rng(rng));
    let base_secret = base.secret();

    let dh1 = dh::agree(ours.dh_secret(), spk.public_key())?;
    let dh2 = dh::agree(base_secret, their_identity.x25519_public())?;
    let dh3 = dh::agree(base_secret, spk.public_key())?;
    let dh4 = match opk {
        Some(o) => Some(dh::agree(base_secret, o.public_key())?),
        None => None,
    };
    let (kem_ciphertext, kem_secret) = kem::encapsulate(rng, kem_prekey.public_key());

    let prekeys = PreKeyFrame {
        signed_prekey_id: spk.id(),
        one_time_prekey_id: opk.map(|o| o.id()),
        kem_prekey_id: kem_prekey.id(),
    };
    let transcript = Transcript {
        initiator: ours.public_key(),
        responder: their_identity,
        prekeys,
        signed_prekey: spk.public_key(),
        one_time_prekey: opk.map(|o| o.public_key()),
        kem_public: kem_prekey.public_key(),
        base_key: base.public().as_bytes(),
        kem_ciphertext: &kem_ciphertext,
    };
    let mut dhs: Vec<&[u8; 32]> = vec![&dh1, &dh2, &dh3];
    if let Some(d) = &dh4 {
        dhs.push(d);
    }
    let secrets = derive(&dhs, &kem_secret, &transcript, context);
    Ok(Initiation {
        secrets,
        base,
        prekeys,
        kem_ciphertext,
        remote_identity: their_identity.clone(),
    })
}

/// The responder's side: the prekeys given must be the ones the message names.
pub(crate) fn respond(
    ours: &IdentityKeyPair,
    signed_prekey: &SignedPreKeyPair,
    one_time_prekey: Option<&OneTimePreKeyPair>,
    kem_prekey: &KemPreKeyPair,
    message: &PreKeyMessage,
    context: &[u8],
) -> crate::Result<SessionSecrets> {
    check_prekeys(signed_prekey, one_time_prekey, kem_prekey, message)?;
    let their_identity = message.identity_key();
    let base_key = message.base_key();

    let dh1 = dh::agree(signed_prekey.secret(), their_identity.x25519_public())?;
    let dh2 = dh::agree(ours.dh_secret(), base_key)?;
    let dh3 = dh::agree(signed_prekey.secret(), base_key)?;
    let dh4 = match one_time_prekey {
        Some(o) => Some(dh::agree(o.secret(), base_key)?),
        None => None,
    };
    let kem_secret = kem::decapsulate(kem_prekey.secret(), message.kem_ciphertext());

    let transcript = Transcript {
        initiator: their_identity,
        responder: ours.public_key(),
        prekeys: *message.prekeys(),
        signed_prekey: signed_prekey.public().public_key(),
        one_time_prekey: one_time_prekey.map(|o| o.public().public_key()),
        kem_public: kem_prekey.public().public_key(),
        base_key,
        kem_ciphertext: message.kem_ciphertext(),
    };
    let mut dhs: Vec<&[u8; 32]> = vec![&dh1, &dh2, &dh3];
    if let Some(d) = &dh4 {
        dhs.push(d);
    }
    Ok(derive(&dhs, &kem_secret, &transcript, context))
}

fn check_prekeys(
    signed_prekey: &SignedPreKeyPair,
    one_time_prekey: Option<&OneTimePreKeyPair>,
    kem_prekey: &KemPreKeyPair,
    message: &PreKeyMessage,
) -> Result<(), MisuseError> {
    if signed_prekey.id() != message.signed_prekey_id() {
        return Err(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::Signed,
            expected: Some(message.signed_prekey_id()),
            found: Some(signed_prekey.id()),
        });
    }
    let given = one_time_prekey.map(|o| o.id());
    if given != message.one_time_prekey_id() {
        return Err(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::OneTime,
            expected: message.one_time_prekey_id(),
            found: given,
        });
    }
    if kem_prekey.id() != message.kem_prekey_id() {
        return Err(MisuseError::PreKeyMismatch {
            prekey: PreKeyRole::Kem,
            expected: Some(message.kem_prekey_id()),
            found: Some(kem_prekey.id()),
        });
    }
    Ok(())
}
