//! Secret hygiene, checked by the compiler: every type that holds a secret
//! is [`ZeroizeOnDrop`], and that claim is true field by field.
//!
//! Each module that defines a secret-holding type marks it
//! `impl ZeroizeOnDrop for T {}` and has a `zeroize_audit` function that
//! destructures the type *exhaustively* (no `..`), passing every secret
//! field to [`zod`] (or [`zod_all`] for collections) and naming every other
//! field `_` with the reason it is not secret. So:
//!
//! - adding a field to a secret type fails to compile until the audit names
//!   it, and naming it as a secret fails unless its type zeroizes on drop;
//! - removing a marker impl fails to compile here, in [`all`], and in every
//!   audit that nests the type.
//!
//! The audits run only in the type checker; nothing here is called.
//!
//! What `ZeroizeOnDrop` does *not* cover (see `docs/SECURITY.md`): copies
//! left behind by moves and by collection reallocation, and plaintexts,
//! which are returned in ordinary `Vec<u8>`s.

use zeroize::ZeroizeOnDrop;

/// Type-checks that a field's type zeroizes itself on drop.
pub(crate) fn zod<T: ZeroizeOnDrop + ?Sized>(_: &T) {}

/// Type-checks that every element of a collection zeroizes itself on drop
/// (dropping the collection drops, and so wipes, each element).
pub(crate) fn zod_all<'a, T: ZeroizeOnDrop + 'a>(_: impl IntoIterator<Item = &'a T>) {}

fn assert_zod<T: ZeroizeOnDrop>() {}

/// Every secret-holding type of the crate, public and crate-private.
/// `InboundSession` is not listed: its `plaintext` is the caller's output,
/// an ordinary `Vec<u8>` like the one `Session::decrypt` returns (its
/// `session` field is checked in the session module's audit).
#[allow(dead_code)]
fn all() {
    // Public.
    assert_zod::<crate::IdentityKeyPair>();
    assert_zod::<crate::UserIdentityKeyPair>();
    assert_zod::<crate::LinkRequest>();
    assert_zod::<crate::Provisioned>();
    assert_zod::<crate::SignedPreKeyPair>();
    assert_zod::<crate::OneTimePreKeyPair>();
    assert_zod::<crate::KemPreKeyPair>();
    assert_zod::<crate::Session>();
    assert_zod::<crate::SecretBytes>();
    assert_zod::<crate::SenderKey>();
    assert_zod::<crate::SenderKeyDistribution>();
    assert_zod::<crate::ReceivedSenderKey>();
    // Crate-private: the ratchet.
    assert_zod::<crate::ratchet::RootKey>();
    assert_zod::<crate::ratchet::ChainKey>();
    assert_zod::<crate::ratchet::RemoteChainKey>();
    assert_zod::<crate::ratchet::MessageKeySeed>();
    assert_zod::<crate::ratchet::MessageKey>();
    assert_zod::<crate::ratchet::Followed>();
    assert_zod::<crate::ratchet::OurRatchetKey>();
    assert_zod::<crate::ratchet::ReceivingChain>();
    assert_zod::<crate::ratchet::OurSide>();
    assert_zod::<crate::ratchet::SkippedKeys>();
    assert_zod::<crate::ratchet::DoubleRatchet>();
    // Crate-private: key agreement and storage.
    assert_zod::<crate::crypto::aead::AeadKey>();
    assert_zod::<crate::crypto::kem::KemSecret>();
    assert_zod::<crate::crypto::dh::SharedSecret>();
    assert_zod::<crate::handshake::SessionSecrets>();
    assert_zod::<crate::handshake::Initiation>();
    assert_zod::<crate::wire::RatchetKeyFrame>();
    assert_zod::<crate::wire::ChainFrame>();
    assert_zod::<crate::wire::SkippedFrame>();
    assert_zod::<crate::wire::RatchetFrame>();
    assert_zod::<crate::wire::SessionFrame>();
}

#[cfg(test)]
mod tests {
    //! `Debug` of the crate-private secret types shows none of their
    //! secret bytes.

    use x25519_dalek::StaticSecret;
    use zeroize::Zeroizing;

    use crate::crypto::kdf;
    use crate::crypto::kem;
    use crate::ratchet::{
        ChainKey, MessageKeySeed, OurRatchetKey, RemoteChainKey, RootKey, SkippedKeys,
    };

    /// Distinct, recognisable-but-random-looking bytes for secret number `n`.
    fn secret32(n: u8) -> [u8; 32] {
        kdf::sha256(&[b"kinseal hygiene test secret", &[n]])
    }

    pub(crate) use crate::redaction_check::assert_redacted;

    fn both(v: &impl core::fmt::Debug) -> [String; 2] {
        [format!("{v:?}"), format!("{v:#?}")]
    }

    /// The checker itself catches both renderings.
    #[test]
    #[should_panic(expected = "as hex")]
    fn the_checker_catches_hex() {
        let s = secret32(0);
        assert_redacted(
            "hex",
            &format!("x {:02x?}", &s[3..9]).replace([',', ' '], ""),
            &s,
        );
    }

    #[test]
    #[should_panic(expected = "decimal list")]
    fn the_checker_catches_decimal_lists() {
        let s = secret32(1);
        assert_redacted("list", &format!("{:#?}", &s[10..20]), &s);
    }

    #[test]
    fn ratchet_keys_do_not_print() {
        let s = secret32(2);
        for d in both(&RootKey::new(Zeroizing::new(s))) {
            assert_redacted("RootKey", &d, &s);
        }
        for d in both(&ChainKey::new(Zeroizing::new(s), 7)) {
            assert_redacted("ChainKey", &d, &s);
        }
        for d in both(&RemoteChainKey::new(Zeroizing::new(s), 9)) {
            assert_redacted("RemoteChainKey", &d, &s);
        }
        let seed = MessageKeySeed::new(Zeroizing::new(s));
        for d in both(&seed) {
            assert_redacted("MessageKeySeed", &d, &s);
        }
        let key = seed.expand();
        let key_bytes = kdf::message_key(&s).to_okm();
        for d in both(&key) {
            assert_redacted("MessageKey", &d, &key_bytes[..]);
            assert_redacted("MessageKey", &d, &s);
        }
    }

    #[test]
    fn our_ratchet_key_prints_only_its_public_half() {
        let s = secret32(3);
        let ours = OurRatchetKey::from_secret(StaticSecret::from(s));
        let clamped = StaticSecret::from(s).to_bytes();
        let public: String = ours
            .public()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for d in both(&ours) {
            assert_redacted("OurRatchetKey", &d, &s);
            assert_redacted("OurRatchetKey", &d, &clamped);
            assert!(d.contains(&public), "the public key is shown: {d}");
        }
    }

    #[test]
    fn kem_secrets_do_not_print() {
        let mut seed = [0u8; kem::SEED_LEN];
        seed[..32].copy_from_slice(&secret32(4));
        seed[32..].copy_from_slice(&secret32(5));
        let (secret, public) = kem::keypair_from_seed(&seed);
        // The expanded key is dk_pke ‖ ek ‖ H(ek) ‖ z; ek and H(ek) are public.
        let kp = libcrux_ml_kem::mlkem768::generate_key_pair(seed);
        let dk: [u8; kem::PRIVATE_KEY_LEN] = kp.private_key().as_slice().to_owned();
        assert_eq!(kp.public_key().as_slice()[..], public[..]);
        for d in both(&secret) {
            assert_redacted("KemSecret", &d, &seed);
            assert_redacted("KemSecret", &d, &dk[..1152]);
            assert_redacted("KemSecret", &d, &dk[2368..]);
        }
    }

    #[test]
    fn skipped_keys_do_not_print() {
        let mut store = SkippedKeys::default();
        let seeds: Vec<[u8; 32]> = (10..20).map(secret32).collect();
        store.extend(
            3,
            seeds
                .iter()
                .enumerate()
                .map(|(i, s)| (i as u32, MessageKeySeed::new(Zeroizing::new(*s))))
                .collect(),
            100,
        );
        assert_eq!(store.len(), seeds.len());
        for d in both(&store) {
            for s in &seeds {
                assert_redacted("SkippedKeys", &d, s);
            }
        }
    }
}
