//! The saved-state byte format shared by the driver and the model.
//!
//! A snapshot is a header followed by tagged, length-prefixed sections:
//!
//! ```text
//! header:  "GICS" (4 bytes) | format version: u16 LE | reserved: u16 (0)
//! section: tag: u16 LE | reserved: u16 (0) | length: u32 LE | payload (length bytes)
//! ```
//!
//! Readers skip sections whose tag they do not know, so a newer writer may
//! add sections without breaking older readers, and optional state (the
//! virtualization extensions) travels in a section written only when it
//! exists. Derived registers (GICH_EISR, GICH_ELRSR, GICH_MISR, output lines)
//! are never saved; they are recomputed from what is read back.
//!
//! The format needs no allocator: [`Writer`] fills a caller's buffer and
//! [`Reader`] walks a borrowed one.

use core::fmt;

/// The four bytes that open every snapshot.
pub const MAGIC: [u8; 4] = *b"GICS";
/// The format version this crate writes. Readers accept this and earlier.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes in the header.
pub const HEADER_LEN: usize = 8;
/// Bytes in a section header (tag, reserved, length).
pub const SECTION_HEADER_LEN: usize = 8;

/// Section tags. Numbers are never reused.
pub mod tag {
    /// Distributor and physical CPU interfaces (model snapshots).
    pub const BASE: u16 = 1;
    /// Virtual interface state (GICH: HCR, VMCR, APR, list registers) of one or more CPUs.
    pub const VIRT: u16 = 2;
    /// The driver's queue of interrupts waiting for a free list register
    /// (`VcpuContext` bytes only, written when something is queued). The
    /// model skips it. Payload: count u32 LE, then that many list-register
    /// values u32 LE, next to deliver first.
    pub const PENDING_QUEUE: u16 = 3;
    /// The list registers whose EOI bit the driver set itself, not at the
    /// caller's request (`VcpuContext` bytes only, written only when there
    /// is one: with a single list register the driver sets it to learn
    /// when to refill). Their completion is not reported. The model skips
    /// it; without it every EOI bit is the caller's. Payload: u64 LE, one
    /// bit per list register, each in use with HW = 0 and EOI = 1. Queued
    /// interrupts never carry such a bit (an evicted one goes back without
    /// it), so the queue needs no such record.
    pub const DRIVER_EOI: u16 = 4;
}

/// Why saved state could not be written or read. On a read error nothing
/// was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SnapshotError {
    /// The output buffer is too small; `needed` bytes are required.
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
    },
    /// The input does not start with the snapshot magic.
    BadMagic,
    /// The input was written by a newer, incompatible format version.
    UnsupportedVersion(u16),
    /// The input ends inside a header, section or field.
    Truncated,
    /// A section or field holds a value the format does not allow.
    Corrupt,
    /// A required section is missing.
    MissingSection(u16),
    /// The input describes a GIC of another shape (CPUs, lines, list registers).
    ConfigMismatch,
    /// The input is larger than any state this configuration can hold.
    Oversized,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SnapshotError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            SnapshotError::BadMagic => f.write_str("not a GIC snapshot (bad magic)"),
            SnapshotError::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            SnapshotError::Truncated => f.write_str("snapshot is truncated"),
            SnapshotError::Corrupt => f.write_str("snapshot holds an invalid value"),
            SnapshotError::MissingSection(t) => write!(f, "required section {t} is missing"),
            SnapshotError::ConfigMismatch => {
                f.write_str("snapshot is for a GIC of a different configuration")
            }
            SnapshotError::Oversized => f.write_str("snapshot is larger than this GIC's state"),
        }
    }
}

impl core::error::Error for SnapshotError {}

/// Writes a snapshot into a caller's buffer.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    /// Offset of the open section's header, if one is open.
    open: Option<usize>,
    overflow: bool,
    /// Why the state cannot be written, if something refused it.
    refused: Option<SnapshotError>,
}

impl<'a> Writer<'a> {
    /// Starts a snapshot in `buf`, writing the header.
    pub fn new(buf: &'a mut [u8]) -> Self {
        let mut w = Writer {
            buf,
            len: 0,
            open: None,
            overflow: false,
            refused: None,
        };
        w.bytes(&MAGIC);
        w.u16(FORMAT_VERSION);
        w.u16(0);
        w
    }

    /// Opens a section with `tag`; closes any open one first.
    pub fn begin_section(&mut self, tag: u16) {
        self.end_section();
        self.open = Some(self.len);
        self.u16(tag);
        self.u16(0);
        self.u32(0); // length, patched by end_section
    }

    /// Closes the open section, recording its length.
    pub fn end_section(&mut self) {
        if let Some(start) = self.open.take() {
            if !self.overflow {
                let len = (self.len - start - SECTION_HEADER_LEN) as u32;
                self.buf[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
            }
        }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        let end = self.len + b.len();
        if end <= self.buf.len() {
            self.buf[self.len..end].copy_from_slice(b);
        } else {
            self.overflow = true;
        }
        self.len = end;
    }
    /// Appends a byte.
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    /// Appends a little-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    /// Appends a little-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    /// Appends a little-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Marks the snapshot as impossible to write: [`finish`](Self::finish)
    /// then fails with `why` (the first reason given wins, and it is
    /// reported before a buffer that is too small). A writer of a record
    /// calls this for a value its reader would refuse, so nothing is
    /// written that cannot be read back.
    pub fn refuse(&mut self, why: SnapshotError) {
        if self.refused.is_none() {
            self.refused = Some(why);
        }
    }

    /// Closes the open section and returns the snapshot's length, or the
    /// size the buffer would have needed, or the reason given to
    /// [`refuse`](Self::refuse).
    pub fn finish(mut self) -> Result<usize, SnapshotError> {
        self.end_section();
        if let Some(why) = self.refused {
            Err(why)
        } else if self.overflow {
            Err(SnapshotError::BufferTooSmall { needed: self.len })
        } else {
            Ok(self.len)
        }
    }
}

/// Reads fields from a byte slice, failing with [`SnapshotError::Truncated`] at its end.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }
    /// Takes the next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if n > self.data.len() {
            return Err(SnapshotError::Truncated);
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }
    /// Takes a byte.
    pub fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.bytes(1)?[0])
    }
    /// Takes a little-endian u16.
    pub fn u16(&mut self) -> Result<u16, SnapshotError> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    /// Takes a little-endian u32.
    pub fn u32(&mut self) -> Result<u32, SnapshotError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Takes a little-endian u64.
    pub fn u64(&mut self) -> Result<u64, SnapshotError> {
        let b = self.bytes(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// Fails with [`SnapshotError::Corrupt`] unless every byte was consumed.
    pub fn finish(self) -> Result<(), SnapshotError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(SnapshotError::Corrupt)
        }
    }
}

/// Walks the sections of a snapshot after checking its header.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: Cursor<'a>,
    version: u16,
}

impl<'a> Reader<'a> {
    /// Checks the header of `data` and that the whole section list is well
    /// framed: every section header complete with its reserved field 0, and
    /// every payload as long as its length says, up to the last byte
    /// ([`SnapshotError::Truncated`] for stray bytes after the last
    /// section). Every reader of this format starts here, so they all
    /// refuse the same damaged input with the same error.
    pub fn new(data: &'a [u8]) -> Result<Self, SnapshotError> {
        let reader = Self::header(data)?;
        reader.validate()?;
        Ok(reader)
    }

    fn header(data: &'a [u8]) -> Result<Self, SnapshotError> {
        let mut c = Cursor::new(data);
        if c.bytes(4).map_err(|_| SnapshotError::BadMagic)? != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let version = c.u16()?;
        if version == 0 || version > FORMAT_VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        if c.u16()? != 0 {
            return Err(SnapshotError::Corrupt);
        }
        Ok(Reader { rest: c, version })
    }

    /// The format version the snapshot was written with.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The payload of the first section with `tag`, if present. Fails if any
    /// section header before it is truncated.
    pub fn find(&self, tag: u16) -> Result<Option<Cursor<'a>>, SnapshotError> {
        let mut it = self.clone();
        while let Some((t, payload)) = it.next_section()? {
            if t == tag {
                return Ok(Some(payload));
            }
        }
        Ok(None)
    }

    /// The next section's tag and payload, or `None` at the end.
    pub fn next_section(&mut self) -> Result<Option<(u16, Cursor<'a>)>, SnapshotError> {
        if self.rest.remaining() == 0 {
            return Ok(None);
        }
        let tag = self.rest.u16()?;
        if self.rest.u16()? != 0 {
            return Err(SnapshotError::Corrupt);
        }
        let len = self.rest.u32()? as usize;
        let payload = self.rest.bytes(len)?;
        Ok(Some((tag, Cursor::new(payload))))
    }

    /// Checks the whole section list is well formed (no truncation); always
    /// true of a reader [`new`](Self::new) returned.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        let mut it = self.clone();
        while it.next_section()?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_unknown_tags_are_skipped() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.begin_section(99);
        w.u32(0xDEAD_BEEF);
        w.begin_section(tag::VIRT);
        w.u16(7);
        let n = w.finish().unwrap();
        assert_eq!(
            n,
            HEADER_LEN + SECTION_HEADER_LEN + 4 + SECTION_HEADER_LEN + 2
        );
        let r = Reader::new(&buf[..n]).unwrap();
        let mut virt = r.find(tag::VIRT).unwrap().unwrap();
        assert_eq!(virt.u16().unwrap(), 7);
        assert!(virt.finish().is_ok());
        assert!(r.find(tag::BASE).unwrap().is_none());
    }

    #[test]
    fn small_buffer_reports_needed_size() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.begin_section(tag::BASE);
        w.u64(1);
        assert_eq!(
            w.finish(),
            Err(SnapshotError::BufferTooSmall { needed: 8 + 8 + 8 })
        );
    }

    #[test]
    fn truncated_and_foreign_inputs_are_rejected() {
        assert_eq!(Reader::new(b"GIC").unwrap_err(), SnapshotError::BadMagic);
        assert_eq!(
            Reader::new(b"XXXX\x01\0\0\0").unwrap_err(),
            SnapshotError::BadMagic
        );
        assert_eq!(
            Reader::new(b"GICS\x09\0\0\0").unwrap_err(),
            SnapshotError::UnsupportedVersion(9)
        );
        assert_eq!(
            Reader::new(b"GICS\x01\0\0\0\x02\0\0\0\x10\0\0\0").unwrap_err(),
            SnapshotError::Truncated
        );
        assert_eq!(
            Reader::new(b"GICS\x01\0\0\0\x02\0").unwrap_err(),
            SnapshotError::Truncated
        );
        assert_eq!(
            Reader::new(b"GICS\x01\0\0\0\x02\0\x01\0\0\0\0\0").unwrap_err(),
            SnapshotError::Corrupt
        );
    }

    #[test]
    fn writing_refuses_a_record_that_reading_refuses() {
        for count in [65u8, 100, 255] {
            let record = VcpuRecord {
                lr_count: count,
                ..VcpuRecord::default()
            };
            let mut buf = [0u8; 2048];
            assert_eq!(record.to_bytes(&mut buf), Err(SnapshotError::Oversized));
            let mut w = Writer::new(&mut buf);
            w.begin_section(tag::VIRT);
            w.u8(1);
            record.write(&mut w);
            assert_eq!(w.finish(), Err(SnapshotError::Oversized));
            // The same record, laid out by hand, is what reading refuses.
            let mut w = Writer::new(&mut buf);
            w.begin_section(tag::VIRT);
            w.u8(1);
            w.bytes(&[0; 12]);
            w.u8(count);
            for _ in 0..count {
                w.u32(0);
            }
            let n = w.finish().unwrap();
            assert_eq!(
                VcpuRecord::from_bytes(&buf[..n]),
                Err(SnapshotError::Oversized)
            );
        }
        // Too small a buffer as well: the record's refusal is what is reported.
        let record = VcpuRecord {
            lr_count: 65,
            ..VcpuRecord::default()
        };
        assert_eq!(
            record.to_bytes(&mut [0u8; 4]),
            Err(SnapshotError::Oversized)
        );
        let record = VcpuRecord {
            lr_count: 64,
            ..VcpuRecord::default()
        };
        let mut buf = [0u8; 512];
        let n = record.to_bytes(&mut buf).unwrap();
        assert_eq!(VcpuRecord::from_bytes(&buf[..n]), Ok(record));
    }
}

/// The saved state of one CPU's virtual interface: the GICH registers a
/// world switch must preserve. This is the record the [`tag::VIRT`] section
/// holds, shared by the driver's vCPU context and the model, so state saved
/// from either restores into the other.
///
/// Record layout (little-endian): HCR u32 | VMCR u32 | APR u32 |
/// list-register count u8 | that many LR values, u32 each.
/// GICH_EISR, GICH_ELRSR and GICH_MISR are derived and not part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuRecord {
    /// GICH_HCR, including EOICount.
    pub hcr: u32,
    /// GICH_VMCR.
    pub vmcr: u32,
    /// GICH_APR (the same state as GICV_APR0).
    pub apr: u32,
    /// Number of list registers described by `lrs`.
    pub lr_count: u8,
    /// GICH_LR0..GICH_LR(lr_count - 1); entries beyond `lr_count` are zero.
    pub lrs: [u32; crate::regs::gich::MAX_LIST_REGISTERS],
}

impl Default for VcpuRecord {
    fn default() -> Self {
        VcpuRecord {
            hcr: 0,
            vmcr: 0,
            apr: 0,
            lr_count: 0,
            lrs: [0; crate::regs::gich::MAX_LIST_REGISTERS],
        }
    }
}

/// Most CPU interfaces a GICv2 has, so most records a VIRT section holds.
const MAX_CPUS: u8 = 8;

impl VcpuRecord {
    /// Bytes this record takes when written (a record [`write`](Self::write)
    /// refuses takes none).
    pub fn encoded_len(&self) -> usize {
        if self.lr_count as usize > crate::regs::gich::MAX_LIST_REGISTERS {
            0
        } else {
            13 + 4 * self.lr_count as usize
        }
    }

    /// Appends the record to `w`. A record claiming more than 64 list
    /// registers, which [`read`](Self::read) refuses, is not written: `w`
    /// is marked [refused](Writer::refuse) and its `finish` fails with
    /// [`SnapshotError::Oversized`].
    pub fn write(&self, w: &mut Writer<'_>) {
        let Some(lrs) = self.lrs.get(..self.lr_count as usize) else {
            w.refuse(SnapshotError::Oversized);
            return;
        };
        w.u32(self.hcr);
        w.u32(self.vmcr);
        w.u32(self.apr);
        w.u8(self.lr_count);
        for &lr in lrs {
            w.u32(lr);
        }
    }

    /// Reads one record from `c`. Fails with [`SnapshotError::Oversized`] if
    /// it holds more than 64 list registers.
    pub fn read(c: &mut Cursor<'_>) -> Result<Self, SnapshotError> {
        let mut r = VcpuRecord {
            hcr: c.u32()?,
            vmcr: c.u32()?,
            apr: c.u32()?,
            lr_count: c.u8()?,
            ..VcpuRecord::default()
        };
        if r.lr_count as usize > crate::regs::gich::MAX_LIST_REGISTERS {
            return Err(SnapshotError::Oversized);
        }
        for lr in &mut r.lrs[..r.lr_count as usize] {
            *lr = c.u32()?;
        }
        Ok(r)
    }

    /// Writes a standalone snapshot holding only this record, as a
    /// [`tag::VIRT`] section for one CPU (count byte 1, then the record).
    /// Fails with [`SnapshotError::Oversized`] for more than 64 list
    /// registers, as [`from_bytes`](Self::from_bytes) would.
    pub fn to_bytes(&self, buf: &mut [u8]) -> Result<usize, SnapshotError> {
        let mut w = Writer::new(buf);
        w.begin_section(tag::VIRT);
        w.u8(1);
        self.write(&mut w);
        w.finish()
    }

    /// Reads a standalone snapshot written by [`to_bytes`](Self::to_bytes), or the
    /// first CPU's record of any snapshot's [`tag::VIRT`] section. As
    /// strict as the model's `Gic::set_from_bytes` on the same bytes: the framing
    /// of every section is checked ([`Reader::new`]), and the VIRT section
    /// must hold exactly its count of well-formed records (1-8; more is
    /// [`SnapshotError::Oversized`], none or trailing bytes
    /// [`SnapshotError::Corrupt`]).
    pub fn from_bytes(data: &[u8]) -> Result<Self, SnapshotError> {
        let mut c = Reader::new(data)?
            .find(tag::VIRT)?
            .ok_or(SnapshotError::MissingSection(tag::VIRT))?;
        let count = c.u8()?;
        if count == 0 {
            return Err(SnapshotError::Corrupt);
        }
        if count > MAX_CPUS {
            return Err(SnapshotError::Oversized);
        }
        let first = Self::read(&mut c)?;
        for _ in 1..count {
            Self::read(&mut c)?;
        }
        c.finish()?;
        Ok(first)
    }
}
