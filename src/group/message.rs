//! What a group message's sender and receivers compute alike
//! (PROTOCOL.md §16.3): the padded length, the associated data and the
//! signature input.

use crate::address::DeviceAddress;
use crate::crypto::labels;
use crate::limits::{DEFAULT_PADDING_BLOCK, GROUP_MESSAGE_HEADER_LEN, MAX_PLAINTEXT_LEN};
use crate::wire::{DeviceAddressFrame, padme, round_up};

/// The padded length of a `plaintext_len`-byte plaintext: the default
/// policy of §7.6 (160-byte blocks, then Padmé). Group messages have one
/// policy, so that no member's choice tells its app apart.
pub(super) fn padded_len(plaintext_len: usize) -> usize {
    let n = plaintext_len.min(MAX_PLAINTEXT_LEN) + 1;
    padme(round_up(n, usize::from(DEFAULT_PADDING_BLOCK)))
}

/// The embedded encoding of the sender's address, as the associated data
/// and the signature input carry it.
pub(super) fn embedded_sender(sender: &DeviceAddress) -> Vec<u8> {
    DeviceAddressFrame::of(sender).embedded()
}

/// The AEAD's associated data: label ‖ group id ‖ epoch ‖ embedded sender
/// ‖ the message header (every byte before the ciphertext).
pub(super) fn associated_data(
    group_id: &[u8; 32],
    epoch: u64,
    sender: &[u8],
    header: &[u8],
) -> Vec<u8> {
    let mut ad = Vec::with_capacity(
        labels::GROUP_MESSAGE_AD.len() + 32 + 8 + sender.len() + GROUP_MESSAGE_HEADER_LEN,
    );
    ad.extend_from_slice(labels::GROUP_MESSAGE_AD);
    ad.extend_from_slice(group_id);
    ad.extend_from_slice(&epoch.to_be_bytes());
    ad.extend_from_slice(sender);
    ad.extend_from_slice(header);
    ad
}
