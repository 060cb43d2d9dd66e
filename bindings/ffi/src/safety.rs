//! Safety numbers: what two people compare, or scan as a QR code, to know
//! they talk to each other's keys.

use std::sync::Arc;

use kinseal::client as kc;

use crate::error::Result;

/// A safety number of two devices or two people.
#[derive(uniffi::Object)]
pub struct SafetyNumber {
    inner: kc::SafetyNumber,
}

impl SafetyNumber {
    pub(crate) fn wrap(inner: kc::SafetyNumber) -> Arc<Self> {
        Arc::new(SafetyNumber { inner })
    }
}

#[uniffi::export]
impl SafetyNumber {
    /// The digits, in one string.
    pub fn digits(&self) -> String {
        self.inner.digits()
    }

    /// The digits in groups, as apps show them.
    pub fn groups(&self) -> Vec<String> {
        self.inner.groups().to_vec()
    }

    /// The payload of the QR code to show.
    pub fn qr_bytes(&self) -> Vec<u8> {
        self.inner.to_qr_bytes()
    }

    /// Whether a QR code scanned from the other device shows this number.
    pub fn matches_scanned(&self, scanned: Vec<u8>) -> Result<bool> {
        Ok(self.inner.matches_scanned(&scanned)?)
    }

    /// Whether two safety numbers are the same.
    pub fn equals(&self, other: Arc<SafetyNumber>) -> bool {
        self.inner == other.inner
    }
}
