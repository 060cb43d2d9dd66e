//! The decryption-error receipt fuzz target: receipts and failed-message
//! locators on arbitrary bytes. Included by `targets.rs`, so the
//! corpus-replay test runs it too.

use std::sync::OnceLock;

use kinseal::server::route as route_message;
use kinseal::{
    DecryptionErrorReceipt, DeviceAddress, FailedMessage, IncomingMessage, ReceiptReason,
};

use super::{device_lists, fixture};

/// Two decryption-error receipts signed by Bob's fixture device, device 1
/// of the fixture's first device list: one for the fixture's
/// `PreKeyMessage`, one for a `Message`.
pub fn receipts() -> &'static [Vec<u8>; 2] {
    static R: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    R.get_or_init(|| {
        let f = fixture();
        let from = DeviceAddress::new(b"chirp", b"alice", 1).unwrap();
        let to = DeviceAddress::new(b"parley", b"bob@parley.example", 7).unwrap();
        let message = &f.to_alice[0].0;
        let receipt = |m: &[u8], reason| {
            let failed = FailedMessage::of(m).unwrap();
            DecryptionErrorReceipt::new(&f.bob, &from, &to, failed, reason, 1_700_000_000)
                .to_bytes()
        };
        [
            receipt(&f.prekey_message, ReceiptReason::UnknownPreKey),
            receipt(message, ReceiptReason::DecryptionFailed),
        ]
    })
}

/// Decryption-error receipts and failed-message locators on arbitrary
/// bytes: the bytes have a locator exactly when `route` accepts them as a
/// message, and it is the decoded message's when they decode in full; an
/// accepted receipt re-encodes byte for byte, verified or not; and a
/// receipt that verifies under the fixture device's key, or that the
/// fixture's device list names, is one of the fixture's two (only that
/// key signs one).
pub fn parse_receipt(data: &[u8]) {
    let failed = FailedMessage::of(data);
    assert_eq!(failed.is_ok(), route_message(data).is_ok());
    if let (Ok(f), Ok(m)) = (&failed, IncomingMessage::from_bytes(data)) {
        assert_eq!(*f, FailedMessage::from(&m));
    }
    let Ok(receipt) = DecryptionErrorReceipt::from_bytes(data) else {
        return;
    };
    assert_eq!(receipt.to_bytes(), data);
    let Ok(verified) = receipt.verify() else {
        return;
    };
    assert_eq!(verified.to_bytes(), data);
    let ours = verified.identity_key() == fixture().bob.public_key();
    assert_eq!(ours, receipts().iter().any(|r| r == data));
    if verified.is_listed_in(&device_lists().0) {
        assert!(ours);
    }
}
