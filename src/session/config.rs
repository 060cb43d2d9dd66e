//! Per-session settings, each checked against its safe range.

use crate::address::DeviceAddress;
use crate::crypto::labels;
use crate::error::MisuseError;
use crate::limits::MAX_CONTEXT_LEN;
use crate::ratchet::Bounds;
use crate::wire::DeviceAddressFrame;

use super::Padding;

/// How a session tolerates loss and reordering, how it pads, and what
/// context it binds.
///
/// ```
/// use kinseal::SessionConfig;
/// let config = SessionConfig::default()
///     .with_max_forward_jump(5_000)?
///     .with_context(b"app:chat.example/alice:1 -> app:mail.example/bob:3")?;
/// # Ok::<(), kinseal::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    bounds: Bounds,
    padding: Padding,
    context: Vec<u8>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            bounds: Bounds::DEFAULT,
            padding: Padding::DEFAULT,
            context: Vec::new(),
        }
    }
}

impl SessionConfig {
    /// The largest number of messages one incoming message may skip in its
    /// chain, `1 ..=` [`MAX_FORWARD_JUMP_LIMIT`](crate::MAX_FORWARD_JUMP_LIMIT).
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`].
    pub fn with_max_forward_jump(mut self, value: u32) -> crate::Result<Self> {
        let b = self.bounds;
        self.bounds = Bounds::new(value, b.max_skipped_keys(), b.max_old_chains())?;
        Ok(self)
    }

    /// The most skipped message keys kept for late messages,
    /// `0 ..=` [`MAX_SKIPPED_KEYS_LIMIT`](crate::MAX_SKIPPED_KEYS_LIMIT).
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`].
    pub fn with_max_skipped_keys(mut self, value: u32) -> crate::Result<Self> {
        let b = self.bounds;
        self.bounds = Bounds::new(b.max_forward_jump(), value, b.max_old_chains())?;
        Ok(self)
    }

    /// How many previous receiving chains are kept besides the current one,
    /// `0 ..=` [`MAX_OLD_CHAINS_LIMIT`](crate::MAX_OLD_CHAINS_LIMIT).
    ///
    /// # Errors
    /// [`MisuseError::ConfigOutOfRange`].
    pub fn with_max_old_chains(mut self, value: u32) -> crate::Result<Self> {
        let b = self.bounds;
        self.bounds = Bounds::new(b.max_forward_jump(), b.max_skipped_keys(), value)?;
        Ok(self)
    }

    /// How this side pads what it sends ([`Padding::DEFAULT`] unless set).
    /// The peer needs no matching setting: any padding decrypts.
    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Context both sides must agree on — for example both parties' app
    /// ids and addresses. It is bound into every message's associated data:
    /// if the two sides set different contexts, every message fails to
    /// decrypt. At most [`MAX_CONTEXT_LEN`](crate::MAX_CONTEXT_LEN) bytes.
    ///
    /// # Errors
    /// [`MisuseError::ContextTooLong`].
    pub fn with_context(mut self, context: &[u8]) -> crate::Result<Self> {
        if context.len() > MAX_CONTEXT_LEN {
            return Err(MisuseError::ContextTooLong {
                max: MAX_CONTEXT_LEN,
                found: context.len(),
            }
            .into());
        }
        self.context = context.to_vec();
        Ok(self)
    }

    /// These settings with the two devices' addresses bound into the
    /// context ahead of this one (PROTOCOL.md §6.6):
    /// `"KINSEAL-v1 bound addresses\0" ‖ initiator ‖ responder ‖ context`,
    /// each address in its embedded form (§4.5). Both sides compute it
    /// from the same two addresses, initiator first, so a message bound to
    /// one pair does not authenticate under another: a server that
    /// relabels a sender, or delivers to another device, is caught. The
    /// client layer's account does this for every session.
    ///
    /// # Errors
    /// [`MisuseError::ContextTooLong`] when the result would be longer
    /// than [`MAX_CONTEXT_LEN`](crate::MAX_CONTEXT_LEN) (a context of at
    /// most `MAX_ACCOUNT_CONTEXT_LEN`, 256 bytes, always fits).
    pub fn with_bound_addresses(
        &self,
        initiator: &DeviceAddress,
        responder: &DeviceAddress,
    ) -> crate::Result<Self> {
        let (a, b) = (
            DeviceAddressFrame::of(initiator),
            DeviceAddressFrame::of(responder),
        );
        let mut context = Vec::with_capacity(
            labels::BOUND_ADDRESSES.len()
                + a.embedded_len()
                + b.embedded_len()
                + self.context.len(),
        );
        context.extend_from_slice(labels::BOUND_ADDRESSES);
        context.extend_from_slice(&a.embedded());
        context.extend_from_slice(&b.embedded());
        context.extend_from_slice(&self.context);
        self.clone().with_context(&context)
    }

    /// The maximum forward jump.
    pub fn max_forward_jump(&self) -> u32 {
        self.bounds.max_forward_jump()
    }

    /// The maximum number of stored skipped keys.
    pub fn max_skipped_keys(&self) -> u32 {
        self.bounds.max_skipped_keys()
    }

    /// The number of previous receiving chains kept.
    pub fn max_old_chains(&self) -> u32 {
        self.bounds.max_old_chains()
    }

    /// The padding policy.
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// The context.
    pub fn context(&self) -> &[u8] {
        &self.context
    }

    pub(crate) fn bounds(&self) -> Bounds {
        self.bounds
    }
}
