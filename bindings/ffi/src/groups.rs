//! Groups, through the account: creating and changing them, sending and
//! reading group messages (PROTOCOL.md §16–17).

use kinseal::OsRng;
use kinseal::client as kc;

use crate::account::{Account, with};
use crate::error::Result;
use crate::types::{
    self, DeviceAddress, FanOut, GroupCreated, GroupDecrypted, GroupSend, GroupState, UserAddress,
};

/// Where the app keeps the plaintext of a group message it decrypts,
/// called inside the store transaction of `group_decrypt_with`: raise to
/// refuse, and nothing is stored.
#[uniffi::export(callback_interface)]
pub trait GroupDelivery: Send + Sync {
    /// Stores `message` in the app's own database. Raising refuses it.
    fn deliver(&self, message: GroupDecrypted) -> Result<()>;
}

/// One operation of a group change, applied in order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum GroupOp {
    /// Adds a user who is not a member (their user key, from their device
    /// list on record).
    Add {
        /// Where the user is reached.
        user: UserAddress,
        /// The user's identity key (32 bytes).
        user_key: Vec<u8>,
        /// Whether the user may change the membership.
        admin: bool,
    },
    /// Removes a member.
    Remove {
        /// The member's user identity key.
        user_key: Vec<u8>,
    },
    /// Gives a member the other role.
    SetRole {
        /// The member's user identity key.
        user_key: Vec<u8>,
        /// Whether the member becomes an admin (`true`) or a member.
        admin: bool,
    },
}

fn role(admin: bool) -> kinseal::GroupRole {
    if admin {
        kinseal::GroupRole::Admin
    } else {
        kinseal::GroupRole::Member
    }
}

impl GroupOp {
    fn to_core(&self) -> Result<kinseal::GroupOp> {
        Ok(match self {
            GroupOp::Add {
                user,
                user_key,
                admin,
            } => kinseal::GroupOp::Add {
                key: types::user_key(user_key)?,
                address: user.to_core()?,
                role: role(*admin),
            },
            GroupOp::Remove { user_key } => kinseal::GroupOp::Remove {
                key: types::user_key(user_key)?,
            },
            GroupOp::SetRole { user_key, admin } => kinseal::GroupOp::SetRole {
                key: types::user_key(user_key)?,
                role: role(*admin),
            },
        })
    }
}

#[uniffi::export]
impl Account {
    /// Creates a group of this person and `members`: its id, and the
    /// welcome envelopes.
    pub fn create_group(&self, members: Vec<UserAddress>, now: u64) -> Result<GroupCreated> {
        let members = types::users(&members)?;
        with!(self, a => {
            let (group, fan_out) = a.create_group(&mut OsRng, &members, now)?;
            Ok(GroupCreated {
                group: group.as_bytes().to_vec(),
                fan_out: FanOut::from(&fan_out),
            })
        })
    }

    /// Adds `users` to `group` (admins only): the envelopes to send.
    pub fn add_group_members(
        &self,
        group: Vec<u8>,
        users: Vec<UserAddress>,
        now: u64,
    ) -> Result<FanOut> {
        let (group, users) = (types::group_id(&group)?, types::users(&users)?);
        with!(self, a => Ok(FanOut::from(&a.add_group_members(&mut OsRng, &group, &users, now)?)))
    }

    /// Removes `users` from `group` (admins only): the envelopes to send.
    pub fn remove_group_members(
        &self,
        group: Vec<u8>,
        users: Vec<UserAddress>,
        now: u64,
    ) -> Result<FanOut> {
        let (group, users) = (types::group_id(&group)?, types::users(&users)?);
        with!(self, a => Ok(FanOut::from(&a.remove_group_members(&mut OsRng, &group, &users, now)?)))
    }

    /// Leaves `group` (a member needs no admin for that; the last admin
    /// cannot): the envelopes to send. This device sends and reads
    /// nothing more in it.
    pub fn leave_group(&self, group: Vec<u8>, now: u64) -> Result<FanOut> {
        let group = types::group_id(&group)?;
        with!(self, a => Ok(FanOut::from(&a.leave_group(&mut OsRng, &group, now)?)))
    }

    /// Encrypts `plaintext` to `group`: the group message and the
    /// sender-key envelopes to send before it.
    pub fn group_send(&self, group: Vec<u8>, plaintext: Vec<u8>, now: u64) -> Result<GroupSend> {
        let group = types::group_id(&group)?;
        with!(self, a => {
            let sent = a.group_send(&mut OsRng, &group, &plaintext, now)?;
            Ok(GroupSend {
                message: sent.message().to_vec(),
                distributions: FanOut::from(sent.distributions()),
            })
        })
    }

    /// Decrypts a group message from `sender`.
    pub fn group_decrypt(&self, sender: DeviceAddress, message: Vec<u8>) -> Result<GroupDecrypted> {
        let sender = sender.to_core()?;
        with!(self, a => Ok(GroupDecrypted::from(&a.group_decrypt(&mut OsRng, &sender, &message)?)))
    }

    /// `group`'s state on this device, if it has the group.
    pub fn group_state(&self, group: Vec<u8>) -> Result<Option<GroupState>> {
        let group = types::group_id(&group)?;
        with!(self, a => Ok(a.group_state(&group)?.as_ref().map(GroupState::from)))
    }

    /// The groups this device has.
    pub fn groups(&self) -> Result<Vec<Vec<u8>>> {
        with!(self, a => Ok(a.groups()?.iter().map(|g| g.as_bytes().to_vec()).collect()))
    }

    /// Applies `ops` to `group` in one change, in order (admins only; a
    /// member may remove only itself): the envelopes to send.
    pub fn change_group(&self, group: Vec<u8>, ops: Vec<GroupOp>, now: u64) -> Result<FanOut> {
        let group = types::group_id(&group)?;
        let ops = ops
            .iter()
            .map(GroupOp::to_core)
            .collect::<Result<Vec<_>>>()?;
        with!(self, a => Ok(FanOut::from(&a.change_group(&mut OsRng, &group, ops, now)?)))
    }

    /// Deletes everything this device holds of `group` (after leaving it,
    /// or being removed): whether it had the group.
    pub fn forget_group(&self, group: Vec<u8>) -> Result<bool> {
        let group = types::group_id(&group)?;
        with!(self, a => Ok(a.forget_group(&group)?))
    }

    /// Decrypts a group message from `sender` and hands it to `delivery`
    /// inside the same transaction: if it raises, nothing is stored and
    /// its error comes back as `Callback` (the message decrypts again
    /// later).
    pub fn group_decrypt_with(
        &self,
        sender: DeviceAddress,
        message: Vec<u8>,
        delivery: Box<dyn GroupDelivery>,
    ) -> Result<GroupDecrypted> {
        let sender = sender.to_core()?;
        let deliver = |d: &kc::GroupDecrypted| delivery.deliver(GroupDecrypted::from(d));
        with!(self, a => {
            let (decrypted, ()) = a.group_decrypt_with(&mut OsRng, &sender, &message, deliver)??;
            Ok(GroupDecrypted::from(&decrypted))
        })
    }
}
