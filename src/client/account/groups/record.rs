//! The group records an account keeps (STORAGE.md §4.9–§4.10): per
//! group its history and this device's sender key, and per group and
//! sending device the sender keys received from it.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use rand_core::CryptoRng;

use super::super::Account;
use super::super::cache::LruMap;
use crate::address::{DeviceAddress, UserAddress};
use crate::client::keyring::RecordKey;
use crate::client::store::{ClientStore, StoreTransaction};
use crate::client::trust::TrustPolicy;
use crate::group::{GroupHistory, GroupId, GroupState, ReceivedSenderKey, SenderKey};
use crate::limits::{GROUP_RECORD_CACHE, MAX_SENDER_KEYS_PER_DEVICE, SIGNER_KEY_CACHE};
use crate::wire::{
    DeviceAddressFrame, Frame, GroupRecordFrame, GroupSenderKeysFrame, OwnSenderKeyFrame,
    UserAddressFrame,
};
use crate::{Error, StorageError};

/// This device's sender key for a group, and whom it went to.
pub(super) struct OwnKey {
    pub(super) key: SenderKey,
    pub(super) created_at: u64,
    pub(super) sent: u32,
    /// The devices the key was distributed to, in the order it was.
    pub(super) distributed: DeviceRuns,
}

/// A list of devices in order, kept as runs of one user's device ids (a
/// group reaches each member's devices in turn, and a key goes to them in
/// that order): a record of a large group decodes with an address per
/// user, not per device, and two lists compare without building any.
#[derive(Default)]
pub(super) struct DeviceRuns {
    runs: Vec<(UserAddress, Vec<u32>)>,
}

impl DeviceRuns {
    /// Adds `ids`, devices of `user`, after the others.
    pub(super) fn push_run(&mut self, user: UserAddress, ids: Vec<u32>) {
        self.runs.push((user, ids));
    }

    /// Adds a device after the others.
    pub(super) fn push(&mut self, device: &DeviceAddress) {
        match self.runs.last_mut() {
            Some((user, ids)) if user == device.user() => ids.push(device.device_id()),
            _ => self
                .runs
                .push((device.user().clone(), vec![device.device_id()])),
        }
    }

    /// Every device, as its user and device id, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&UserAddress, u32)> + '_ {
        self.runs
            .iter()
            .flat_map(|(user, ids)| ids.iter().map(move |&id| (user, id)))
    }

    fn frames(&self) -> Vec<DeviceAddressFrame<'_>> {
        self.iter()
            .map(|(user, device_id)| DeviceAddressFrame {
                user: UserAddressFrame::of(user),
                device_id,
            })
            .collect()
    }

    /// The devices of a decoded record, in order; `None` if an address is
    /// not one (its lengths were checked when the frame was read).
    fn from_frames(frames: &[DeviceAddressFrame<'_>]) -> Option<DeviceRuns> {
        let mut out = DeviceRuns::default();
        for frame in frames {
            match out.runs.last_mut() {
                Some((user, ids)) if UserAddressFrame::of(user) == frame.user => {
                    ids.push(frame.device_id);
                }
                _ => {
                    let user = frame.user.to_address().ok()?;
                    out.runs.push((user, vec![frame.device_id]));
                }
            }
        }
        Some(out)
    }
}

/// What an account holds of one group.
pub(super) struct GroupRecord {
    /// Shared with the account's history cache; a change copies it first
    /// (`Arc::make_mut`), so the cached one is never altered.
    pub(super) history: Arc<GroupHistory>,
    pub(super) own: Option<OwnKey>,
}

impl GroupRecord {
    /// A new record at `state`, with no sender key yet.
    pub(super) fn new(history: GroupHistory) -> GroupRecord {
        GroupRecord {
            history: Arc::new(history),
            own: None,
        }
    }

    /// The current state.
    pub(super) fn state(&self) -> &GroupState {
        self.history.current()
    }

    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let state = self.history.current().to_bytes();
        let previous = self.history.previous().map(GroupState::to_bytes);
        let previous = match (&previous, self.history.last_change_hash()) {
            (Some(p), Some(h)) => Some((p.as_slice(), *h)),
            _ => None,
        };
        let key = self.own.as_ref().map(|o| o.key.to_secret_bytes());
        let sender_key = match (&self.own, &key) {
            (Some(own), Some(key)) => Some(OwnSenderKeyFrame {
                sender_key: key.as_bytes(),
                created_at: own.created_at,
                sent: own.sent,
                distributed: own.distributed.frames(),
            }),
            _ => None,
        };
        GroupRecordFrame {
            state: &state,
            previous,
            sender_key,
        }
        .to_secret_vec()
    }

    /// Decodes a record, its states from `cache` when it holds the history
    /// these very state bytes decode to.
    fn from_bytes(bytes: &[u8], group: &GroupId, cache: &mut GroupCache) -> Option<GroupRecord> {
        let frame = GroupRecordFrame::decode(bytes).ok()?;
        let history = Self::history(&frame, group, cache)?;
        let own = match frame.sender_key {
            Some(own) => {
                let key = SenderKey::from_bytes(own.sender_key).ok()?;
                if key.group_id() != group {
                    return None;
                }
                let distributed = DeviceRuns::from_frames(&own.distributed)?;
                Some(OwnKey {
                    key,
                    created_at: own.created_at,
                    sent: own.sent,
                    distributed,
                })
            }
            None => None,
        };
        Some(GroupRecord { history, own })
    }

    /// The history of a decoded record, from `cache` when it holds it.
    fn history(
        frame: &GroupRecordFrame<'_>,
        group: &GroupId,
        cache: &mut GroupCache,
    ) -> Option<Arc<GroupHistory>> {
        let history = match cache.get(group, frame) {
            Some(history) => history,
            None => {
                let state = GroupState::from_bytes(frame.state).ok()?;
                let history = match frame.previous {
                    Some((previous, hash)) => {
                        let previous = GroupState::from_bytes(previous).ok()?;
                        GroupHistory::resume(previous, hash, state).ok()?
                    }
                    None => GroupHistory::new(state),
                };
                let history = Arc::new(history);
                cache.put(group, Arc::clone(&history));
                history
            }
        };
        (history.current().group_id() == group).then_some(history)
    }
}

/// The sender keys received from one device for one group, oldest first.
#[derive(Default)]
pub(super) struct SenderKeys {
    pub(super) keys: Vec<ReceivedSenderKey>,
}

impl SenderKeys {
    /// Adds a key, unless one with its key id is held (a distribution
    /// again must not rewind a chain: that would let its messages be
    /// replayed); drops the oldest beyond [`MAX_SENDER_KEYS_PER_DEVICE`].
    /// Whether it was added.
    pub(super) fn add(&mut self, key: ReceivedSenderKey) -> bool {
        if self.keys.iter().any(|k| k.key_id() == key.key_id()) {
            return false;
        }
        self.keys.push(key);
        while self.keys.len() > MAX_SENDER_KEYS_PER_DEVICE {
            self.keys.remove(0);
        }
        true
    }

    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let keys: Vec<_> = self.keys.iter().map(|k| k.to_secret_bytes()).collect();
        GroupSenderKeysFrame {
            keys: keys.iter().map(|k| k.as_bytes()).collect(),
        }
        .to_secret_vec()
    }

    fn from_bytes(
        bytes: &[u8],
        group: &GroupId,
        sender: &DeviceAddress,
        signers: &mut SignerCache,
    ) -> Option<SenderKeys> {
        let frame = GroupSenderKeysFrame::decode(bytes).ok()?;
        let keys = frame
            .keys
            .into_iter()
            .map(|k| {
                let mut cached = false;
                let key = ReceivedSenderKey::from_bytes_with(k, |b| {
                    let hit = signers.get(b);
                    cached = hit.is_some();
                    hit
                })
                .ok()?;
                // A key the cache gave is in it already (and was just
                // marked used); only one checked here goes in.
                if !cached {
                    signers.put(key.signing_key());
                }
                Some(key)
            })
            .collect::<Option<Vec<_>>>()?;
        let consistent = keys
            .iter()
            .all(|k| k.group_id() == group && k.sender() == sender);
        consistent.then_some(SenderKeys { keys })
    }
}

/// Decoded histories of recently used groups: decoding a state checks
/// every member's key again, which every group message and every send
/// would otherwise pay for. The record is always read and opened from the
/// store; a cached history stands in only for decoding state bytes equal,
/// byte for byte, to the ones it was decoded from (and the same change
/// hash), so it is never stale, whoever wrote the store, and a history
/// can be put in as soon as it is written. Only public values are kept.
#[derive(Default)]
pub(in crate::client::account) struct GroupCache {
    entries: Vec<(GroupId, Arc<GroupHistory>)>,
    signers: SignerCache,
}

/// Senders' signing keys that passed the strict key check
/// (`parse_ed25519`: canonical, not small order, in the prime-order
/// subgroup), by their bytes: the check is a scalar multiplication, about
/// 30 µs, which every group message would otherwise pay again for each
/// sender key its sender's record holds. A key is looked up only by its
/// own bytes, so an entry is never stale; only public keys are kept.
#[derive(Default)]
pub(in crate::client::account) struct SignerCache {
    keys: LruMap<[u8; 32], VerifyingKey, SIGNER_KEY_CACHE>,
}

impl SignerCache {
    fn get(&mut self, bytes: &[u8; 32]) -> Option<VerifyingKey> {
        self.keys.get(bytes).copied()
    }

    /// Remembers a key that passed the check, evicting the least recently
    /// used beyond [`SIGNER_KEY_CACHE`].
    fn put(&mut self, key: &VerifyingKey) {
        self.keys.put(key.to_bytes(), *key);
    }
}

impl GroupCache {
    /// The history `frame`'s states decode to, if cached.
    fn get(&mut self, group: &GroupId, frame: &GroupRecordFrame<'_>) -> Option<Arc<GroupHistory>> {
        let at = self
            .entries
            .iter()
            .position(|(g, h)| g == group && decodes_to(frame, h))?;
        // Most recently used last.
        let entry = self.entries.remove(at);
        let history = Arc::clone(&entry.1);
        self.entries.push(entry);
        Some(history)
    }

    fn put(&mut self, group: &GroupId, history: Arc<GroupHistory>) {
        self.entries.retain(|(g, _)| g != group);
        while self.entries.len() >= GROUP_RECORD_CACHE {
            self.entries.remove(0);
        }
        self.entries.push((*group, history));
    }
}

/// Whether `frame`'s states are `history`'s, byte for byte.
fn decodes_to(frame: &GroupRecordFrame<'_>, history: &GroupHistory) -> bool {
    let previous = match (
        frame.previous,
        history.previous(),
        history.last_change_hash(),
    ) {
        (None, None, _) => true,
        (Some((bytes, hash)), Some(state), Some(last)) => {
            state.encoding() == bytes && &hash == last
        }
        _ => false,
    };
    previous && history.current().encoding() == frame.state
}

fn invalid(key: RecordKey<'_>) -> Error {
    StorageError::InvalidRecord { table: key.table() }.into()
}

impl<S: ClientStore, P: TrustPolicy> Account<S, P> {
    /// The record of `group`, if there is one.
    pub(super) fn load_group<T: StoreTransaction>(
        &self,
        txn: &mut T,
        group: &GroupId,
    ) -> crate::Result<Option<GroupRecord>> {
        let key = RecordKey::Group(group);
        let Some(sealed) = txn.group(group)? else {
            return Ok(None);
        };
        let plain = self.keyring.open_raw(key, &sealed)?;
        let mut cache = self.group_cache();
        GroupRecord::from_bytes(&plain, group, &mut cache)
            .map(Some)
            .ok_or_else(|| invalid(key))
    }

    /// The history of `group`, if there is a record, without decoding
    /// this device's sender key (a receiver needs only the state).
    pub(super) fn load_group_history<T: StoreTransaction>(
        &self,
        txn: &mut T,
        group: &GroupId,
    ) -> crate::Result<Option<Arc<GroupHistory>>> {
        let key = RecordKey::Group(group);
        let Some(sealed) = txn.group(group)? else {
            return Ok(None);
        };
        let plain = self.keyring.open_raw(key, &sealed)?;
        let frame = GroupRecordFrame::decode(&plain).map_err(|_| invalid(key))?;
        let mut cache = self.group_cache();
        GroupRecord::history(&frame, group, &mut cache)
            .map(Some)
            .ok_or_else(|| invalid(key))
    }

    fn group_cache(&self) -> std::sync::MutexGuard<'_, GroupCache> {
        super::super::lock_cache(&self.groups)
    }

    /// Writes the record of `group`.
    pub(super) fn store_group<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        record: &GroupRecord,
    ) -> crate::Result<()> {
        let group = record.state().group_id();
        let sealed = self
            .keyring
            .seal(rng, RecordKey::Group(group), &record.to_bytes())?;
        txn.put_group(group, &sealed)?;
        // Safe before the commit: the cache answers only for state bytes
        // that decode to this history, whatever the store ends up holding.
        self.group_cache().put(group, Arc::clone(&record.history));
        Ok(())
    }

    /// The sender keys `sender` sent for `group` (none: empty).
    pub(super) fn load_sender_keys<T: StoreTransaction>(
        &self,
        txn: &mut T,
        group: &GroupId,
        sender: &DeviceAddress,
    ) -> crate::Result<SenderKeys> {
        let key = RecordKey::GroupSenderKeys(group, sender);
        let Some(sealed) = txn.group_sender_keys(group, sender)? else {
            return Ok(SenderKeys::default());
        };
        let plain = self.keyring.open_raw(key, &sealed)?;
        let mut cache = self.group_cache();
        SenderKeys::from_bytes(&plain, group, sender, &mut cache.signers)
            .ok_or_else(|| invalid(key))
    }

    /// Writes the sender keys `sender` sent for `group` (removing the
    /// record when there are none).
    pub(super) fn store_sender_keys<T: StoreTransaction, R: CryptoRng + ?Sized>(
        &self,
        txn: &mut T,
        rng: &mut R,
        group: &GroupId,
        sender: &DeviceAddress,
        keys: &SenderKeys,
    ) -> crate::Result<()> {
        if keys.keys.is_empty() {
            txn.remove_group_sender_keys(group, sender)?;
            return Ok(());
        }
        let key = RecordKey::GroupSenderKeys(group, sender);
        let sealed = self.keyring.seal(rng, key, &keys.to_bytes())?;
        Ok(txn.put_group_sender_keys(group, sender, &sealed)?)
    }
}
