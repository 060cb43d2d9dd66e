//! The `Peer` object: one device an account talks to, with its address
//! checked once, for the calls an app makes per message.
//!
//! It is the fast path. A `DeviceAddress` record is serialised by the
//! foreign code on every call and a byte-array argument copied into a
//! buffer allocated in Rust (two more calls across the boundary); a `Peer`
//! crosses as a handle and its byte arguments are borrowed, not copied:
//! Python `bytes`, Swift `Data`, and on the JVM a *direct*
//! `java.nio.ByteBuffer` (`ByteBuffer.allocateDirect`), which is what
//! UniFFI can lend without a copy. `Account`'s methods of the same names
//! take plain byte arrays.

use std::sync::Arc;

use kinseal::OsRng;
use kinseal::client as kc;

use crate::account::{Account, Delivery, with};
use crate::error::Result;
use crate::types::{Decrypted, DeviceAddress, GroupDecrypted};

/// One device of another person (or of this person), as seen from one
/// account: `Account.peer(address)`. It holds the account, so it keeps
/// working while the app holds it; every call is one store transaction of
/// that account, exactly as the `Account` method of the same name with
/// this address.
#[derive(uniffi::Object)]
pub struct Peer {
    account: Arc<Account>,
    address: kc::DeviceAddress,
}

#[uniffi::export]
impl Account {
    /// The device at `address`, checked once, for per-message calls.
    pub fn peer(self: Arc<Self>, address: DeviceAddress) -> Result<Arc<Peer>> {
        Ok(Arc::new(Peer {
            address: address.to_core()?,
            account: self,
        }))
    }
}

#[uniffi::export]
impl Peer {
    /// The device's address.
    pub fn address(&self) -> DeviceAddress {
        (&self.address).into()
    }

    /// Encrypts `plaintext` to this device: the message bytes
    /// (`Account.encrypt`).
    pub fn encrypt(&self, plaintext: &[u8], now: u64) -> Result<Vec<u8>> {
        self.account.encrypt_to(&self.address, plaintext, now)
    }

    /// Decrypts message bytes that came from this device
    /// (`Account.decrypt`).
    pub fn decrypt(&self, message: &[u8], now: u64) -> Result<Decrypted> {
        self.account.decrypt_from(&self.address, message, now)
    }

    /// Decrypts message bytes from this device and hands the result to
    /// `delivery` inside the same transaction (`Account.decrypt_with`).
    pub fn decrypt_with(
        &self,
        message: &[u8],
        now: u64,
        delivery: Box<dyn Delivery>,
    ) -> Result<Decrypted> {
        self.account
            .decrypt_from_with(&self.address, message, now, delivery)
    }

    /// Decrypts a group message this device sent (`Account.group_decrypt`).
    pub fn group_decrypt(&self, message: &[u8]) -> Result<GroupDecrypted> {
        let a = &self.account;
        with!(a, a => Ok(GroupDecrypted::from(&a.group_decrypt(&mut OsRng, &self.address, message)?)))
    }
}

/// The message calls, on an address already checked: `Account`'s methods
/// and `Peer`'s share them.
impl Account {
    pub(crate) fn encrypt_to(
        &self,
        peer: &kc::DeviceAddress,
        plaintext: &[u8],
        now: u64,
    ) -> Result<Vec<u8>> {
        with!(self, a => Ok(a.encrypt(&mut OsRng, peer, plaintext, now)?))
    }

    pub(crate) fn decrypt_from(
        &self,
        peer: &kc::DeviceAddress,
        message: &[u8],
        now: u64,
    ) -> Result<Decrypted> {
        with!(self, a => Ok(Decrypted::new(peer, &a.decrypt(&mut OsRng, peer, message, now)?)))
    }

    pub(crate) fn decrypt_from_with(
        &self,
        peer: &kc::DeviceAddress,
        message: &[u8],
        now: u64,
        delivery: Box<dyn Delivery>,
    ) -> Result<Decrypted> {
        let deliver = |d: &kc::Decrypted| delivery.deliver(Decrypted::new(peer, d));
        with!(self, a => {
            let (decrypted, ()) = a.decrypt_with(&mut OsRng, peer, message, now, deliver)??;
            Ok(Decrypted::new(peer, &decrypted))
        })
    }
}
