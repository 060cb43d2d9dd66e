//! The glue every app would otherwise write: sessions with every device
//! of a user, one plaintext encrypted to all of them in one transaction,
//! and envelopes in and out.

use core::fmt;

use rand_core::CryptoRng;

use super::Account;
use super::messaging::Decrypted;
use super::users::DeviceListChange;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::store::{ClientStore, StoreTransaction};
use crate::client::trust::{IdentityStatus, TrustPolicy};
use crate::error::{AccountError, Error};
use crate::{Envelope, Session, VerifiedBundle};

/// Where [`Account::sync_sessions`] gets a device's bundle: the app's
/// directory client. Implemented for closures
/// `FnMut(&DeviceAddress) -> kinseal::Result<VerifiedBundle>`.
pub trait BundleSource {
    /// A verified bundle of `device`, fetched from the directory.
    ///
    /// # Errors
    /// Whatever the fetch or the verification returned; the device is
    /// then reported in [`SyncReport::failed`] and the others go on.
    fn bundle(&mut self, device: &DeviceAddress) -> crate::Result<VerifiedBundle>;
}

impl<F: FnMut(&DeviceAddress) -> crate::Result<VerifiedBundle>> BundleSource for F {
    fn bundle(&mut self, device: &DeviceAddress) -> crate::Result<VerifiedBundle> {
        self(device)
    }
}

/// Where [`Account::refresh_device_lists`] gets a user's device lists:
/// the app's directory client (`PreKeyDirectory::device_list` and
/// `device_lists_since` on kinseal's directories). Implemented for closures
/// `FnMut(&UserAddress, Option<u64>) -> kinseal::Result<Vec<Vec<u8>>>`.
pub trait DeviceListSource {
    /// The user's lists after version `held` (oldest first), or, with
    /// `None` (no list on record), the user's latest list alone or its
    /// whole history. Empty when there is nothing newer.
    ///
    /// # Errors
    /// Whatever the fetch returned.
    fn lists(&mut self, user: &UserAddress, held: Option<u64>) -> crate::Result<Vec<Vec<u8>>>;
}

impl<F: FnMut(&UserAddress, Option<u64>) -> crate::Result<Vec<Vec<u8>>>> DeviceListSource for F {
    fn lists(&mut self, user: &UserAddress, held: Option<u64>) -> crate::Result<Vec<Vec<u8>>> {
        self(user, held)
    }
}

/// What [`Account::sync_sessions`] did.
#[derive(Debug, Default)]
pub struct SyncReport {
    started: Vec<(DeviceAddress, IdentityStatus)>,
    failed: Vec<(DeviceAddress, Error)>,
}

impl SyncReport {
    /// The devices a new session was started with, and how each one's
    /// identity key relates to the one on record.
    pub fn started(&self) -> &[(DeviceAddress, IdentityStatus)] {
        &self.started
    }

    /// The listed devices without a session that none could be started
    /// with, and why: the bundle could not be fetched, or presented an
    /// identity key the list does not name
    /// ([`AccountError::UnlistedDevice`]: the directory's bundle is not
    /// the device's). The other devices are not affected.
    pub fn failed(&self) -> &[(DeviceAddress, Error)] {
        &self.failed
    }
}

/// One plaintext encrypted to every device of a user and to this
/// account's own other devices, by [`Account::encrypt_to_user`].
pub struct FanOut {
    pub(super) envelopes: Vec<Envelope>,
    pub(super) missing: Vec<DeviceAddress>,
    pub(super) unreachable: Vec<UserAddress>,
}

impl FanOut {
    /// One envelope per device, addressed from this device: hand each to
    /// the server.
    pub fn envelopes(&self) -> &[Envelope] {
        &self.envelopes
    }

    /// The envelopes, by value.
    pub fn into_envelopes(self) -> Vec<Envelope> {
        self.envelopes
    }

    /// Listed devices nothing was encrypted to, having no usable session
    /// (none, closed, or unanswered for too long): run
    /// [`Account::sync_sessions`] and send again to these.
    pub fn missing(&self) -> &[DeviceAddress] {
        &self.missing
    }

    /// Group members nothing was encrypted to, because no device list is
    /// on record for them, or the one on record is signed by another user
    /// key than the group names (their user key changed: an admin must
    /// remove the old key and add the new). Always empty for
    /// [`Account::encrypt_to_users`], which refuses such users instead.
    pub fn unreachable(&self) -> &[UserAddress] {
        &self.unreachable
    }
}

impl fmt::Debug for FanOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOut")
            .field(
                "recipients",
                &self
                    .envelopes
                    .iter()
                    .map(Envelope::recipient)
                    .collect::<Vec<_>>(),
            )
            .field("missing", &self.missing)
            .finish()
    }
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// The devices a message to `users` goes to: every device on each
    /// user's latest list and every other device on this account's own,
    /// in list order (the users' first, in the order given), each once.
    /// Never this device.
    fn recipients<T: StoreTransaction>(
        &self,
        txn: &mut T,
        users: &[UserAddress],
    ) -> crate::Result<Vec<DeviceAddress>> {
        let mut out: Vec<DeviceAddress> = Vec::new();
        let own = self.address.user();
        for user in users.iter().chain([own]) {
            let list = if user == own {
                self.own_list(txn)?
            } else {
                self.load_user(txn, user)?
                    .ok_or(AccountError::NoDeviceList { user: user.clone() })?
                    .into_list()
            };
            for d in list.devices() {
                let device = user.device(d.device_id());
                if device != self.address && !out.contains(&device) {
                    out.push(device);
                }
            }
        }
        Ok(out)
    }

    /// Brings the device list on record for `user` up to date from
    /// `source` (fetched with no store transaction open), as
    /// [`Account::update_device_lists`] takes them: `None` when there was
    /// nothing newer.
    ///
    /// # Errors
    /// [`AccountError::NoDeviceList`] when the source has no list for a
    /// user with none on record; [`AccountError::ListOfAnotherUser`] when
    /// it returned a list of another user than `user` (nothing is taken:
    /// a server must not answer for one user with another's lists); what
    /// the source returned; otherwise as [`Account::update_device_lists`].
    pub fn refresh_device_lists<R: CryptoRng + ?Sized, L: DeviceListSource + ?Sized>(
        &self,
        rng: &mut R,
        user: &UserAddress,
        source: &mut L,
        now: u64,
    ) -> crate::Result<Option<DeviceListChange>> {
        super::trace::traced("refresh_device_lists", 0, || {
            let held = {
                let mut txn = self.store.transaction()?;
                self.load_user(&mut txn, user)?
                    .map(|k| k.device_list().version())
            };
            let lists = source.lists(user, held)?;
            // Asked for `user`'s lists, take only `user`'s (a list that
            // does not decode is refused below, as it always was).
            for bytes in &lists {
                if let Ok(list) = crate::keys::DeviceList::from_bytes(bytes)
                    && list.address() != user
                {
                    return Err(AccountError::ListOfAnotherUser {
                        requested: user.clone(),
                        found: list.address().clone(),
                    }
                    .into());
                }
            }
            if lists.is_empty() {
                return match held {
                    Some(_) => Ok(None),
                    None => Err(AccountError::NoDeviceList { user: user.clone() }.into()),
                };
            }
            self.update_device_lists(rng, &lists, now).map(Some)
        })
    }

    /// Brings sessions with every device of `user` (on its latest list on
    /// record) and with this account's own other devices up to date:
    /// starts one, from a bundle `bundles` fetches, with each that has no
    /// usable session (none, closed by a reset or a receipt, or unanswered
    /// for longer than the configured time). Each bundle's identity key
    /// must be the one the list names for the device.
    ///
    /// The bundles are fetched outside any store transaction (the store is
    /// not held during the app's network calls); the sessions are then
    /// started in one transaction. A device whose bundle cannot be had or
    /// is not the listed device's is reported in [`SyncReport::failed`];
    /// the others are not affected.
    ///
    /// # Errors
    /// [`AccountError::NoDeviceList`] when no list is on record for `user`
    /// (give it to [`Account::update_device_lists`] first); a
    /// [`StorageError`](crate::StorageError). Then nothing changed.
    pub fn sync_sessions<R: CryptoRng + ?Sized, B: BundleSource + ?Sized>(
        &self,
        rng: &mut R,
        user: &UserAddress,
        bundles: &mut B,
        now: u64,
    ) -> crate::Result<SyncReport> {
        super::trace::traced("sync_sessions", 0, || {
            let needed = {
                let mut txn = self.store.transaction()?;
                let mut needed = Vec::new();
                for device in self.recipients(&mut txn, core::slice::from_ref(user))? {
                    if !self.has_usable_session(&mut txn, &device, now)? {
                        needed.push(device);
                    }
                }
                needed
            };
            let mut report = SyncReport::default();
            let mut fetched = Vec::with_capacity(needed.len());
            for device in needed {
                match bundles.bundle(&device) {
                    Ok(bundle) => fetched.push((device, bundle)),
                    Err(e) => report.failed.push((device, e)),
                }
            }
            let mut txn = self.store.transaction()?;
            let mut written = Vec::with_capacity(fetched.len());
            for (device, bundle) in fetched {
                let mut set = self.load_sessions(&mut txn, &device)?;
                let presented = bundle.bundle().identity_key();
                let status =
                    match self.check_device(&mut txn, rng, &device, presented, &mut set, now) {
                        Ok(status) => status,
                        Err(e @ Error::Account(_)) => {
                            report.failed.push((device, e));
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                let config = self.bound_config(&self.address, &device)?;
                let session = match Session::initiate(rng, &self.identity, &bundle, config) {
                    Ok(session) => session,
                    Err(e) => {
                        report.failed.push((device, e));
                        continue;
                    }
                };
                set.push_current(session, now);
                let sealed = self.store_sessions(&mut txn, rng, &device, &mut set, now)?;
                report.started.push((device.clone(), status));
                written.push((device, sealed, set));
            }
            txn.commit()?;
            for (device, sealed, set) in written {
                self.remember(&device, sealed, set);
            }
            Ok(report)
        })
    }

    /// Whether the current session with `device` can encrypt now.
    fn has_usable_session<T: StoreTransaction>(
        &self,
        txn: &mut T,
        device: &DeviceAddress,
        now: u64,
    ) -> crate::Result<bool> {
        let (set, sealed) = self.load_sessions_and_record(txn, device)?;
        let usable = set.current().is_some_and(|c| {
            !c.pending() || now.saturating_sub(c.created_at) <= self.config.pending_session_ttl
        });
        self.remember(device, sealed, set);
        Ok(usable)
    }

    /// Encrypts one plaintext to every device of `user` on its latest list
    /// and to this account's own other devices (so they show the message
    /// as sent), in one transaction, and returns one envelope per device.
    /// Devices without a usable session are reported in
    /// [`FanOut::missing`] and skipped; nothing else is encrypted to, so a
    /// device the list does not name never gets the message.
    ///
    /// # Errors
    /// [`AccountError::NoDeviceList`] when no list is on record for
    /// `user`; [`MisuseError::PlaintextTooLong`](crate::MisuseError::PlaintextTooLong);
    /// a [`StorageError`](crate::StorageError). Then nothing changed and
    /// nothing is returned.
    pub fn encrypt_to_user<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        user: &UserAddress,
        plaintext: &[u8],
        now: u64,
    ) -> crate::Result<FanOut> {
        self.encrypt_to_users(rng, core::slice::from_ref(user), plaintext, now)
    }

    /// As [`Account::encrypt_to_user`], to every device of several users
    /// (the people of a small group, say) and this account's own other
    /// devices, each device once, in one transaction.
    ///
    /// # Errors
    /// As [`Account::encrypt_to_user`], for the first user without a list
    /// on record.
    pub fn encrypt_to_users<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        users: &[UserAddress],
        plaintext: &[u8],
        now: u64,
    ) -> crate::Result<FanOut> {
        super::trace::traced("encrypt_to_users", users.len(), || {
            let content = super::messaging::app_content(plaintext)?;
            let mut txn = self.store.transaction()?;
            let recipients = self.recipients(&mut txn, users)?;
            let mut envelopes = Vec::with_capacity(recipients.len());
            let mut missing = Vec::new();
            let mut written = Vec::with_capacity(recipients.len());
            for device in recipients {
                match self.encrypt_in(&mut txn, rng, &device, &content, now) {
                    Ok((bytes, sealed, set)) => {
                        envelopes.push(Envelope::new(self.address.clone(), device.clone(), bytes)?);
                        written.push((device, sealed, set));
                    }
                    Err(Error::Account(AccountError::NoSession | AccountError::SessionExpired)) => {
                        missing.push(device);
                    }
                    Err(e) => return Err(e),
                }
            }
            txn.commit()?;
            for (device, sealed, set) in written {
                self.remember(&device, sealed, set);
            }
            Ok(FanOut {
                envelopes,
                missing,
                unreachable: Vec::new(),
            })
        })
    }

    /// Encrypts to one device, in an envelope addressed from this device.
    ///
    /// # Errors
    /// As [`Account::encrypt`].
    pub fn encrypt_envelope<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &DeviceAddress,
        plaintext: &[u8],
        now: u64,
    ) -> crate::Result<Envelope> {
        let bytes = self.encrypt(rng, peer, plaintext, now)?;
        Envelope::new(self.address.clone(), peer.clone(), bytes)
    }

    /// Decrypts the message in an envelope the server delivered, from the
    /// sender it names (as [`Account::decrypt`]).
    ///
    /// # Security
    /// The envelope's addresses are the server's word. The recipient must
    /// be this device, and the sender must be the device whose session the
    /// message belongs to: every session binds both devices' addresses
    /// (PROTOCOL.md §6.6), so a message the server relabeled with another
    /// sender does not authenticate
    /// ([`Error::DecryptionFailed`](crate::Error::DecryptionFailed), or
    /// [`AccountError::NoSessionForMessage`] when the claimed sender has
    /// no session), and nothing is stored.
    ///
    /// # Errors
    /// [`AccountError::WrongRecipient`] for an envelope addressed to
    /// another device; otherwise as [`Account::decrypt`].
    pub fn decrypt_envelope<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        envelope: &Envelope,
        now: u64,
    ) -> crate::Result<Decrypted> {
        if *envelope.recipient() != self.address {
            return Err(AccountError::WrongRecipient {
                recipient: envelope.recipient().clone(),
            }
            .into());
        }
        self.decrypt(rng, envelope.sender(), envelope.message(), now)
    }
}
