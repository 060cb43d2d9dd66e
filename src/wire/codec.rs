//! The one shape of every frame ([`Frame`]), a bounds-checked reader and a
//! plain writer. No other code in kinseal indexes a received byte slice.

use zeroize::Zeroizing;

use crate::error::{DecodeError, WireType};

/// What every byte layout of kinseal is: a value that knows its exact
/// length, appends itself to a buffer, and decodes from exactly its own
/// bytes (version byte first, every length checked against its bound,
/// trailing bytes rejected), so that `decode(b)?.to_vec() == b` for every
/// accepted `b`.
///
/// `'a` is the input's lifetime, for frames that borrow from it (a sealed
/// record's ciphertext, a session set's sessions); owned frames implement
/// `Frame<'_>`.
pub(crate) trait Frame<'a>: Sized {
    /// What decoding returns on failure: [`DecodeError`], or for the
    /// upload `crate::Error` (its batch counts are upload rules, checked
    /// before the entries they count are read).
    type Error: From<DecodeError>;

    /// The length of the encoding, exactly.
    fn encoded_len(&self) -> usize;

    /// Appends the encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Decodes one whole value from `bytes`.
    fn decode(bytes: &'a [u8]) -> Result<Self, Self::Error>;

    /// The encoding, in a buffer of exactly its length.
    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The encoding of a frame that holds secrets, in a buffer that wipes
    /// itself when dropped. It is allocated once at the exact length, so no
    /// growth leaves an unwiped copy behind.
    fn to_secret_vec(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.encoded_len()));
        self.encode(&mut out);
        out
    }
}

/// Reads fields front to back; every read is checked against what is left.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    wire_type: WireType,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], wire_type: WireType) -> Self {
        Reader {
            rest: bytes,
            wire_type,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated {
                wire_type: self.wire_type,
                needed: n,
                available: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The next `N` bytes, borrowed rather than copied: for secrets, so
    /// that decoding leaves no copy of them behind.
    pub(crate) fn array_ref<const N: usize>(&mut self) -> Result<&'a [u8; N], DecodeError> {
        let Some((head, tail)) = self.rest.split_first_chunk::<N>() else {
            return Err(DecodeError::Truncated {
                wire_type: self.wire_type,
                needed: N,
                available: self.rest.len(),
            });
        };
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn boxed_array<const N: usize>(&mut self) -> Result<Box<[u8; N]>, DecodeError> {
        let mut out = Box::new([0u8; N]);
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a presence byte: `0x00` absent, `0x01` present.
    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            found => Err(DecodeError::InvalidField {
                wire_type: self.wire_type,
                field,
                found: found.into(),
            }),
        }
    }

    /// Reads a u32 count and checks it against `min..=max`.
    pub(crate) fn length(&mut self, min: usize, max: usize) -> Result<usize, DecodeError> {
        let found = self.u32()? as usize;
        self.check_len(found, min, max)
    }

    /// Checks a length already read (in whatever width its layout gives
    /// it) against `min..=max`.
    pub(crate) fn check_len(
        &self,
        found: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, DecodeError> {
        if found < min || found > max {
            return Err(DecodeError::LengthOutOfRange {
                wire_type: self.wire_type,
                min,
                max,
                found,
            });
        }
        Ok(found)
    }

    /// Reads the version byte and the type byte that open every encoding.
    pub(crate) fn header(&mut self, type_byte: u8) -> Result<(), DecodeError> {
        self.header_of(&[type_byte]).map(|_| ())
    }

    /// Reads the version byte and a type byte that must be one of
    /// `type_bytes` (the revisions of one layout), returning it.
    pub(crate) fn header_of(&mut self, type_bytes: &[u8]) -> Result<u8, DecodeError> {
        let version = self.u8()?;
        if version != super::PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion { found: version });
        }
        let found = self.u8()?;
        if !type_bytes.contains(&found) {
            return Err(DecodeError::UnexpectedType {
                expected: self.wire_type,
                found,
            });
        }
        Ok(found)
    }

    /// Reads the suite byte; version 1 defines exactly one suite.
    pub(crate) fn suite(&mut self) -> Result<u8, DecodeError> {
        let found = self.u8()?;
        if found != super::SUITE_V1 {
            return Err(DecodeError::UnsupportedSuite { found });
        }
        Ok(found)
    }

    /// Fails unless every byte has been read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                wire_type: self.wire_type,
                count: self.rest.len(),
            })
        }
    }

    /// The unread bytes, consuming the reader.
    pub(crate) fn remaining(self) -> &'a [u8] {
        self.rest
    }
}

/// Appends fields to a buffer.
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Writer { out }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn flag(&mut self, present: bool) -> &mut Self {
        self.u8(u8::from(present))
    }

    /// Writes a length that the caller has already bounded by a `MAX_*` that fits a u32.
    pub(crate) fn length(&mut self, len: usize) -> &mut Self {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX))
    }

    pub(crate) fn header(&mut self, type_byte: u8) -> &mut Self {
        self.u8(super::PROTOCOL_VERSION).u8(type_byte)
    }
}
