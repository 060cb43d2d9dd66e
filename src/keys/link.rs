//! Linking a new device to an account (PROTOCOL.md §13): the new device
//! shows a [`LinkCode`] as a QR code; an existing device of the account
//! scans it, signs the next device list with the new device on it, and
//! seals the user identity key and that list to the code in a provisioning
//! message; the new device opens it with its [`LinkRequest`] and gets a
//! [`Provisioned`] device. The byte layouts are in `wire/link.rs`.

use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::prekey::x25519_public;
use super::{
    DeviceList, IdentityKey, IdentityKeyPair, UserIdentityKey, UserIdentityKeyPair,
    VerifiedDeviceList, X25519PublicKey,
};
use crate::address::DeviceAddress;
use crate::crypto::{aead, dh, kdf};
use crate::error::{Error, LinkError, MisuseError};
use crate::limits::{LINK_CODE_LEN, MAX_PROVISIONING_CIPHERTEXT_LEN};
use crate::wire::{
    Frame, KEY_LEN, LinkCodeFrame, ProvisioningFrame, ProvisioningPayloadFrame, TAG_LEN,
};

/// What a new device shows as a QR code to be linked (PROTOCOL.md §13.2):
/// a fresh X25519 public key to seal the provisioning message to, and the
/// new device's identity key, for the existing device to put on the
/// account's device list. 67 bytes ([`LinkCode::LENGTH`]), both keys
/// validated.
///
/// Nothing in it is secret, but whoever learns it can send the new device
/// a provisioning message (see [`LinkRequest::open`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LinkCode {
    ephemeral_key: X25519PublicKey,
    identity_key: IdentityKey,
}

impl LinkCode {
    /// Length of the encoding.
    pub const LENGTH: usize = LINK_CODE_LEN;

    /// Decodes a scanned link code and validates both keys.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`WireType::LinkCode`](crate::WireType::LinkCode):
    /// `UnsupportedVersion`, `UnexpectedType`, `UnsupportedSuite`,
    /// `Truncated` or `TrailingBytes` for bytes that are not 67 bytes of
    /// this layout, checked in that order; then `InvalidKey` with
    /// [`KeyKind::X25519`](crate::KeyKind::X25519) for an ephemeral key
    /// that PROTOCOL.md §3.2 refuses (not canonical, of small order, with a
    /// small-order component, on the twist), then with
    /// [`KeyKind::Identity`](crate::KeyKind::Identity) for an identity key
    /// that §3.1 refuses.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<LinkCode> {
        let frame = LinkCodeFrame::decode(bytes)?;
        let ephemeral_key = x25519_public(&frame.ephemeral_key)?;
        let identity_key = IdentityKey::from_bytes(&frame.identity_key)?;
        Ok(LinkCode {
            ephemeral_key,
            identity_key,
        })
    }

    /// The 67-byte encoding, for the QR code (in byte mode).
    pub fn to_bytes(&self) -> Vec<u8> {
        LinkCodeFrame {
            ephemeral_key: *self.ephemeral_key.as_bytes(),
            identity_key: self.identity_key.to_bytes(),
        }
        .to_vec()
    }

    /// The new device's ephemeral X25519 public key.
    pub fn ephemeral_key(&self) -> &[u8; KEY_LEN] {
        self.ephemeral_key.as_bytes()
    }

    /// The new device's identity key: the one the device list must give
    /// the new device.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }
}

/// A new device's side of being linked: its identity key pair, made here,
/// and the ephemeral X25519 key pair its [`LinkCode`] carries. Made once
/// per attempt, shown once, opened once.
///
/// ```
/// use kinseal::{
///     DeviceList, IdentityKeyPair, LinkCode, LinkRequest, OsRng, ProvisioningMessage,
///     UserAddress, UserIdentityKeyPair,
/// };
/// # fn main() -> kinseal::Result<()> {
/// // An account with one device.
/// let user = UserIdentityKeyPair::generate(&mut OsRng);
/// let phone = IdentityKeyPair::generate(&mut OsRng);
/// let address = UserAddress::new(b"chirp", b"alice")?;
/// let t = 1_700_000_000;
/// let v1 = DeviceList::first(&user, &address, t, [(1, phone.public_key(), t)])?;
///
/// // The new device shows its code...
/// let laptop = LinkRequest::new(&mut OsRng);
/// let qr = laptop.code().to_bytes();
///
/// // ...the phone scans it, adds the laptop as device 2 and seals.
/// let code = LinkCode::from_bytes(&qr)?;
/// let v2 = v1.next(&user, t + 60, [(1, phone.public_key(), t), (2, code.identity_key(), t + 60)])?;
/// let message = ProvisioningMessage::seal(&mut OsRng, &code, &user, &v2, 2)?;
///
/// // The laptop opens what the server relayed.
/// let linked = laptop.open(&message)?;
/// assert_eq!(linked.user_identity().public_key(), user.public_key());
/// assert_eq!(linked.device_address(), address.device(2));
/// # Ok(())
/// # }
/// ```
pub struct LinkRequest {
    identity: IdentityKeyPair,
    ephemeral: StaticSecret,
    code: LinkCode,
}

impl LinkRequest {
    /// Generates the new device's identity key pair, then a fresh
    /// ephemeral X25519 key pair, from `rng`.
    pub fn new<R: CryptoRng + ?Sized>(rng: &mut R) -> LinkRequest {
        let identity = IdentityKeyPair::generate(rng);
        let ephemeral = StaticSecret::random_from_rng(rng);
        let code = LinkCode {
            ephemeral_key: X25519PublicKey::from_secret(&ephemeral),
            identity_key: identity.public_key().clone(),
        };
        LinkRequest {
            identity,
            ephemeral,
            code,
        }
    }

    /// The new device's identity key.
    pub fn identity_key(&self) -> &IdentityKey {
        self.identity.public_key()
    }

    /// The code to show as a QR code.
    pub fn code(&self) -> LinkCode {
        self.code.clone()
    }

    /// Opens a provisioning message sealed to this request's code, and
    /// gives the new device what it needs to be a device of the account.
    ///
    /// In this order (PROTOCOL.md §13.5): the message's structure; the
    /// sender's ephemeral key (§3.2); the DH; the AEAD; the payload's
    /// structure; the device list (decoded and verified, §12.3); then that
    /// the list is signed by the user key the message carries, and that it
    /// lists this device under the id the message names.
    ///
    /// The request is used up whatever the outcome: its ephemeral secret
    /// is wiped. After a failure the new device starts again with a new
    /// request and a new code, so that each ephemeral key decrypts at
    /// most one message.
    ///
    /// # Errors
    /// - [`Error::Decode`] with
    ///   [`WireType::ProvisioningMessage`](crate::WireType::ProvisioningMessage)
    ///   for a malformed message (`UnsupportedVersion`, `UnexpectedType`,
    ///   `UnsupportedSuite`, `LengthOutOfRange` for a ciphertext length
    ///   out of range, `Truncated`, `TrailingBytes`), or `InvalidKey` with
    ///   [`KeyKind::X25519`](crate::KeyKind::X25519) for the sender's key;
    /// - [`ProtocolError::NonContributoryKey`](crate::ProtocolError::NonContributoryKey)
    ///   for an all-zero DH output (a second line: no validated key gives one);
    /// - [`Error::DecryptionFailed`] when the message does not authenticate
    ///   under this request's key: sealed to another code, or altered;
    /// - [`Error::Decode`] with
    ///   [`WireType::ProvisioningPayload`](crate::WireType::ProvisioningPayload)
    ///   for a payload that authenticated but is malformed, and the errors of
    ///   [`DeviceList::from_bytes`] and [`DeviceList::verify`] for its list;
    /// - [`Error::Link`] with [`LinkError::UserKeyMismatch`],
    ///   [`DeviceNotListed`](LinkError::DeviceNotListed) or
    ///   [`DeviceKeyMismatch`](LinkError::DeviceKeyMismatch).
    ///
    /// # Security
    /// The message authenticates only as coming from someone who knew the
    /// code: anyone who saw or photographed the QR code can race the
    /// account's device with a message of their own, for an account of
    /// their own. Before using the result, show the user which account
    /// the device joined ([`Provisioned::device_address`], and the user
    /// key's fingerprint where the app shows one) and let them confirm it.
    pub fn open(self, message: &[u8]) -> crate::Result<Provisioned> {
        let frame = ProvisioningFrame::decode(message)?;
        let sender = x25519_public(&frame.ephemeral_key)?;
        let shared = dh::agree(&self.ephemeral, sender.as_bytes())?;
        let key = kdf::provisioning_key(&shared, &self.code.to_bytes(), sender.as_bytes());
        let header = ProvisioningFrame::header(sender.as_bytes(), frame.ciphertext.len());
        let (ciphertext, tag) = frame.split_tag().ok_or(Error::DecryptionFailed)?;
        let mut plaintext = Zeroizing::new(vec![0u8; ciphertext.len()]);
        aead::decrypt(&key, &header, ciphertext, tag, &mut plaintext)
            .map_err(|()| Error::DecryptionFailed)?;
        let payload = ProvisioningPayloadFrame::decode(&plaintext)?;
        let user = UserIdentityKeyPair::from_secret_bytes(payload.user_secret)?;
        let list = DeviceList::from_bytes(payload.device_list)?.verify()?;
        check_fit(
            &list,
            user.public_key(),
            payload.device_id,
            self.identity.public_key(),
        )?;
        Ok(Provisioned {
            device_identity: self.identity,
            user_identity: user,
            device_list: list,
            device_id: payload.device_id,
        })
    }
}

impl ZeroizeOnDrop for LinkRequest {}

/// Zeroize-on-drop audit (see `crate::hygiene`): every field, exhaustively.
#[allow(dead_code)]
fn zeroize_audit(request: &LinkRequest, provisioned: &Provisioned) {
    use crate::hygiene::zod;
    let LinkRequest {
        identity,
        ephemeral,
        code: _, // public keys
    } = request;
    zod(identity);
    zod(ephemeral);
    let Provisioned {
        device_identity,
        user_identity,
        device_list: _, // public, signed
        device_id: _,
    } = provisioned;
    zod(device_identity);
    zod(user_identity);
}

impl fmt::Debug for LinkRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkRequest")
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// The provisioning message (PROTOCOL.md §13.3), which an existing device
/// of an account sends a new one, through the app's server, after
/// scanning its [`LinkCode`]: the user identity key's secret, the new
/// device's id, and the device list that names it, encrypted to the code.
///
/// The message travels as bytes, made by [`ProvisioningMessage::seal`]
/// and read by [`LinkRequest::open`]; this type has no values.
#[derive(Debug)]
pub enum ProvisioningMessage {}

impl ProvisioningMessage {
    /// Seals the account's user identity key and `list` to `code`, for
    /// the new device to be device `device_id`.
    ///
    /// `list` is the list that adds the new device, already signed
    /// ([`VerifiedDeviceList::next`]); publishing it is the caller's
    /// business. A fresh ephemeral key is drawn from `rng` for each call.
    ///
    /// # Errors
    /// [`Error::Link`], checked in this order: [`LinkError::UserKeyMismatch`]
    /// unless `list` is signed by `user`; [`LinkError::DeviceNotListed`]
    /// unless `list` has a device `device_id`;
    /// [`LinkError::DeviceKeyMismatch`] unless that device's identity key
    /// is the code's. (The new device checks the same and would refuse the
    /// message.)
    ///
    /// # Security
    /// The message hands the account's long-term signing key to whoever
    /// holds the code's ephemeral secret: scan the code only from the
    /// screen of the device the user is linking, and show the user the
    /// device being added. Once linked, that device can sign device lists
    /// for the account like every other one.
    pub fn seal<R: CryptoRng + ?Sized>(
        rng: &mut R,
        code: &LinkCode,
        user: &UserIdentityKeyPair,
        list: &VerifiedDeviceList,
        device_id: u32,
    ) -> crate::Result<Vec<u8>> {
        check_fit(list, user.public_key(), device_id, &code.identity_key)?;
        let ephemeral = StaticSecret::random_from_rng(rng);
        let ephemeral_public = X25519PublicKey::from_secret(&ephemeral);
        let shared = dh::agree(&ephemeral, code.ephemeral_key.as_bytes())?;
        let key = kdf::provisioning_key(&shared, &code.to_bytes(), ephemeral_public.as_bytes());
        let list_bytes = list.to_bytes();
        let mut sealed = ProvisioningPayloadFrame {
            user_secret: user.secret_key_bytes(),
            device_id,
            device_list: &list_bytes,
        }
        .to_secret_vec();
        let ciphertext_len = sealed.len() + TAG_LEN;
        let header = ProvisioningFrame::header(ephemeral_public.as_bytes(), ciphertext_len);
        // Not reachable: a device list is at most MAX_DEVICE_LIST_LEN long,
        // and the AEAD refuses only plaintexts of gigabytes.
        let too_long = MisuseError::PlaintextTooLong {
            max: MAX_PROVISIONING_CIPHERTEXT_LEN - TAG_LEN,
            found: sealed.len(),
        };
        let tag = aead::encrypt_in_place(&key, &header, &mut sealed).map_err(|()| too_long)?;
        let mut out = Vec::with_capacity(header.len() + ciphertext_len);
        out.extend_from_slice(&header);
        out.extend_from_slice(&sealed);
        out.extend_from_slice(&tag);
        Ok(out)
    }
}

/// A newly linked device: its identity key pair (made by its
/// [`LinkRequest`]), the account's user identity key, the device list that
/// names it, and its device id on that list.
///
/// Everything here has been checked: the list verified under the user
/// key, and its entry `device_id` is this device's identity key. The
/// secrets are wiped on drop and never printed.
pub struct Provisioned {
    device_identity: IdentityKeyPair,
    user_identity: UserIdentityKeyPair,
    device_list: VerifiedDeviceList,
    device_id: u32,
}

impl Provisioned {
    /// The new device's identity key pair.
    pub fn device_identity(&self) -> &IdentityKeyPair {
        &self.device_identity
    }

    /// The account's user identity key pair.
    ///
    /// # Security
    /// The account's long-term signing key: store it encrypted, as
    /// [`UserIdentityKeyPair::to_secret_bytes`] says.
    pub fn user_identity(&self) -> &UserIdentityKeyPair {
        &self.user_identity
    }

    /// The device list the sender signed, with this device on it.
    ///
    /// # Security
    /// It is verified under the user key it came with, which is the
    /// account's only if the user confirmed the account (see
    /// [`LinkRequest::open`]). It is the new device's first list of the
    /// account: later ones are checked against it
    /// ([`VerifiedDeviceList::check_successor`]).
    pub fn device_list(&self) -> &VerifiedDeviceList {
        &self.device_list
    }

    /// The new device's id on the list.
    pub fn device_id(&self) -> u32 {
        self.device_id
    }

    /// The new device's address: the list's user and the device id.
    pub fn device_address(&self) -> DeviceAddress {
        self.device_list.address().device(self.device_id)
    }

    /// Gives the parts back: the device identity, the user identity, the
    /// device list and the device id.
    pub fn into_parts(
        self,
    ) -> (
        IdentityKeyPair,
        UserIdentityKeyPair,
        VerifiedDeviceList,
        u32,
    ) {
        let Provisioned {
            device_identity,
            user_identity,
            device_list,
            device_id,
        } = self;
        (device_identity, user_identity, device_list, device_id)
    }
}

impl ZeroizeOnDrop for Provisioned {}

impl fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioned")
            .field("device_identity", &self.device_identity)
            .field("user_identity", &self.user_identity)
            .field("device_list", &self.device_list)
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// The checks both ends make (PROTOCOL.md §13.5, last three steps): the
/// list is signed by `user_key` and gives device `device_id` the identity
/// key `device_key`.
fn check_fit(
    list: &VerifiedDeviceList,
    user_key: &UserIdentityKey,
    device_id: u32,
    device_key: &IdentityKey,
) -> Result<(), LinkError> {
    if list.user_key() != user_key {
        return Err(LinkError::UserKeyMismatch);
    }
    let entry = list
        .device(device_id)
        .ok_or(LinkError::DeviceNotListed { device_id })?;
    if entry.identity_key() != device_key {
        return Err(LinkError::DeviceKeyMismatch { device_id });
    }
    Ok(())
}
