//! The operating system's random number generator, as a `rand_core` CSPRNG.

use rand_core::{Infallible, TryCryptoRng, TryRng};

/// The operating system's CSPRNG (`getrandom`), for callers that have no
/// generator of their own: `Session::initiate(&mut OsRng, …)`.
///
/// Every kinseal function that needs randomness takes a
/// [`rand_core::CryptoRng`] argument, so tests and vector generators can
/// pass a seeded generator instead.
///
/// # Panics
/// If the operating system cannot supply randomness. There is no safe way
/// to continue a cryptographic protocol without it.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRng;

impl TryRng for OsRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    #[allow(
        clippy::panic,
        reason = "no input reaches this; an OS without entropy cannot run the protocol"
    )]
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        if let Err(e) = getrandom::fill(dst) {
            panic!("the operating system's random number generator failed: {e}");
        }
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}
