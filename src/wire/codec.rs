//! A bounds-checked reader and a plain writer. No other code in kinseal
//! indexes a received byte slice.

use crate::error::{DecodeError, WireType};

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

    pub(crate) fn boxed_array<const N: usize>(&mut self) -> Result<Box<[u8; N]>, DecodeError> {
        let mut out = Box::new([0u8; N]);
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
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
        let version = self.u8()?;
        if version != super::PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion { found: version });
        }
        let found = self.u8()?;
        if found != type_byte {
            return Err(DecodeError::UnexpectedType {
                expected: self.wire_type,
                found,
            });
        }
        Ok(())
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
