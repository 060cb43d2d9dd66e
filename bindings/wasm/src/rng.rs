//! Randomness for the bindings: the operating system's bytes
//! (`crypto.getRandomValues`, through kinseal's `OsRng`), fetched 512 at
//! a time instead of one call across the JavaScript boundary per request.
//!
//! A message's encryption asks for randomness twice (about 56 bytes) and
//! a decryption once (the 24-byte nonce that seals the session record);
//! each call out to `getRandomValues` cost 1.8–4 µs under Node, a sixth
//! of a same-chain encryption. The pool serves small requests from one
//! fill; every byte handed out is wiped from it, and requests larger
//! than a quarter of the pool go to `OsRng` directly. The bytes are the
//! operating system's own, each used once: no generator of the bindings'
//! own is involved. What the pool holds unused is as secret as the
//! session keys next to it in the module's memory, and no better hidden.

use std::cell::RefCell;

use kinseal::OsRng;
use rand_core::{Infallible, Rng as _, TryCryptoRng, TryRng};
use zeroize::Zeroize;

/// How many bytes one fill fetches.
const POOL: usize = 512;
/// Larger requests bypass the pool.
const DIRECT: usize = POOL / 4;

struct Pool {
    bytes: [u8; POOL],
    /// Bytes before `next` were handed out (and wiped).
    next: usize,
}

thread_local! {
    static POOLED: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0; POOL], next: POOL })
    };
}

/// The pooled operating-system generator: pass `&mut Rng` wherever
/// kinseal takes a `CryptoRng`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rng;

impl Pool {
    fn fill(&mut self, dst: &mut [u8]) {
        let mut done = 0;
        while done < dst.len() {
            if self.next == POOL {
                OsRng.fill_bytes(&mut self.bytes);
                self.next = 0;
            }
            let n = (dst.len() - done).min(POOL - self.next);
            let (out, from) = (done..done + n, self.next..self.next + n);
            if let (Some(out), Some(from)) = (dst.get_mut(out), self.bytes.get_mut(from)) {
                out.copy_from_slice(from);
                from.zeroize();
            }
            done += n;
            self.next += n;
        }
    }
}

impl TryRng for Rng {
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

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        if dst.len() > DIRECT {
            OsRng.fill_bytes(dst);
        } else {
            // The pool is never borrowed twice: nothing in `fill` calls
            // back here. Were it, the OS would serve the request.
            let served = POOLED.with(|p| match p.try_borrow_mut() {
                Ok(mut pool) => {
                    pool.fill(dst);
                    true
                }
                Err(_) => false,
            });
            if !served {
                OsRng.fill_bytes(dst);
            }
        }
        Ok(())
    }
}

impl TryCryptoRng for Rng {}
