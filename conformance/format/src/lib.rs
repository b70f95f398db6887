//! The scenario format of the GICv2 conformance corpus, read by the
//! bare-metal probe (which plays each scenario on QEMU's GIC) and by the
//! host (which plays it on `gic_model::Gic`).
//!
//! A scenario is a short text: a header, then register accesses, one per
//! line. `#` starts a comment; blank lines are ignored.
//!
//! ```text
//! scenario gicc-iar-sgi-source      # a name: letters, digits, '-', '_', '.'
//! cpus 2                            # CPUs on the board (1-8), required
//! reset                             # optional: see below
//! write gicd 0 0x000 32 0x1         # write FRAME CPU OFFSET WIDTH VALUE
//! read  gicc 1 0x00c 32             # read  FRAME CPU OFFSET WIDTH
//! read  gicd 0 0x100..0x110 32      # a range: one read per word (or byte)
//! ```
//!
//! * FRAME is `gicd`, `gicc`, `gich` or `gicv`; CPU is the CPU that makes
//!   the access (for `gich` and `gicv`: the CPU whose banked frame it is,
//!   since each CPU sees its own at the same address); OFFSET is a byte
//!   offset in the frame (`0x` hex or decimal, `_` allowed); WIDTH is `8` or
//!   `32`, and word accesses are 4-byte aligned. VALUE fits the width.
//! * `A..B` (B exclusive) stands for one access per WIDTH bytes from A.
//! * Every access is one *step*, numbered from 1 in the scenario (a range
//!   counts one step per access). A read's answer is recorded by its
//!   scenario name and step number.
//! * Every scenario starts from the [`prologue`]: a fixed sequence of
//!   writes that brings the GIC to a known state, so results do not depend
//!   on which scenario ran before. A `reset` scenario skips the prologue and
//!   reads the GIC as it comes out of reset; it must be the first scenario
//!   of its CPU count in the corpus, since the probe boots once per CPU count.
//!
//! Nothing here allocates: [`scenarios`] walks a `&str` and yields
//! [`Scenario`]s, each already checked, whose [`Scenario::steps`] yield the
//! accesses.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod prologue;

use core::fmt;

use gic_driver::regs::{gicc, gicd, gich};

pub use prologue::{prologue, prologue_for, prologue_order, Prologue, QEMU_VIRT_LINES};

/// Most CPUs a scenario can name (a GICv2 has at most 8 CPU interfaces).
pub const MAX_CPUS: u8 = 8;

/// A register frame of the GIC (IHI 0048B 1.3, 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Frame {
    /// The Distributor.
    Gicd,
    /// The accessing CPU's physical CPU interface.
    Gicc,
    /// The virtual interface control registers of a CPU.
    Gich,
    /// The virtual CPU interface of a CPU.
    Gicv,
}

impl Frame {
    /// Every frame, in the order of [`Frame::index`].
    pub const ALL: [Frame; 4] = [Frame::Gicd, Frame::Gicc, Frame::Gich, Frame::Gicv];

    /// The name used in scenarios: `gicd`, `gicc`, `gich`, `gicv`.
    pub const fn name(self) -> &'static str {
        match self {
            Frame::Gicd => "gicd",
            Frame::Gicc => "gicc",
            Frame::Gich => "gich",
            Frame::Gicv => "gicv",
        }
    }

    /// The frame's size in bytes: GICD 4 KiB, GICC 8 KiB, GICH 4 KiB, GICV
    /// 8 KiB (the sizes `gic_driver::regs` gives).
    pub const fn size(self) -> u32 {
        (match self {
            Frame::Gicd => gicd::offset::FRAME_SIZE,
            Frame::Gicc | Frame::Gicv => gicc::offset::FRAME_SIZE,
            Frame::Gich => gich::offset::FRAME_SIZE,
        }) as u32
    }

    /// 0 for GICD, 1 for GICC, 2 for GICH, 3 for GICV.
    pub const fn index(self) -> u8 {
        match self {
            Frame::Gicd => 0,
            Frame::Gicc => 1,
            Frame::Gich => 2,
            Frame::Gicv => 3,
        }
    }

    /// The frame named `name` in a scenario.
    pub fn parse(name: &str) -> Option<Frame> {
        Frame::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The width of an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Width {
    /// 8 bits.
    Byte,
    /// 32 bits, 4-byte aligned.
    Word,
}

impl Width {
    /// 8 or 32.
    pub const fn bits(self) -> u32 {
        match self {
            Width::Byte => 8,
            Width::Word => 32,
        }
    }

    /// 1 or 4.
    pub const fn bytes(self) -> u32 {
        self.bits() / 8
    }

    /// The largest value of this width.
    pub const fn max(self) -> u32 {
        match self {
            Width::Byte => 0xFF,
            Width::Word => u32::MAX,
        }
    }
}

/// What an access does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// A read, whose answer is recorded.
    Read,
    /// A write of this value.
    Write(u32),
}

/// One register access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access {
    /// The frame.
    pub frame: Frame,
    /// The CPU making the access (for GICH and GICV, whose banked frame).
    pub cpu: u8,
    /// Byte offset in the frame.
    pub offset: u32,
    /// 8 or 32 bits.
    pub width: Width,
    /// Read, or write of a value.
    pub op: Op,
}

impl fmt::Display for Access {
    /// The access as a scenario line says it: `read gicc 0 0x00c 32`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (frame, cpu, off, bits) = (self.frame.name(), self.cpu, self.offset, self.width.bits());
        match self.op {
            Op::Read => write!(f, "read {frame} {cpu} {off:#05x} {bits}"),
            Op::Write(v) => write!(f, "write {frame} {cpu} {off:#05x} {bits} {v:#x}"),
        }
    }
}

/// One step of a scenario: an access with its number and source line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Step number in the scenario, from 1.
    pub number: u32,
    /// Line of the scenario text it comes from, from 1.
    pub line: u32,
    /// The access.
    pub access: Access,
}

/// What is wrong with a scenario text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A line that is not `scenario`, `cpus`, `reset`, `read` or `write`.
    UnknownKeyword,
    /// A step or header before the first `scenario` line.
    OutsideScenario,
    /// `scenario` without a valid name (letters, digits, `-`, `_`, `.`).
    BadName,
    /// No `cpus` line in the header.
    MissingCpus,
    /// `cpus` not in 1-8.
    BadCpus,
    /// `cpus` or `reset` given twice.
    DuplicateHeader,
    /// `cpus` or `reset` after the first step.
    HeaderAfterSteps,
    /// A scenario without steps.
    NoSteps,
    /// A frame that is not `gicd`, `gicc`, `gich` or `gicv`.
    BadFrame,
    /// A CPU that is not a number below the scenario's `cpus`.
    BadCpu,
    /// An offset (or range) that is not a number, or a range that is empty
    /// or not a whole number of accesses.
    BadOffset,
    /// An offset at or beyond the end of the frame.
    OutsideFrame,
    /// A word access whose offset is not a multiple of 4.
    Unaligned,
    /// A width other than 8 or 32.
    BadWidth,
    /// A write without a value, or one that is not a number or does not fit
    /// the width.
    BadValue,
    /// A field missing from a step.
    MissingField,
    /// More fields than the step takes.
    ExtraField,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::UnknownKeyword => "expected scenario, cpus, reset, read or write",
            ErrorKind::OutsideScenario => "a line before the first `scenario`",
            ErrorKind::BadName => "a scenario needs a name of letters, digits, '-', '_', '.'",
            ErrorKind::MissingCpus => "the scenario has no `cpus N` line",
            ErrorKind::BadCpus => "cpus must be 1-8",
            ErrorKind::DuplicateHeader => "header line given twice",
            ErrorKind::HeaderAfterSteps => "header line after the first step",
            ErrorKind::NoSteps => "the scenario has no steps",
            ErrorKind::BadFrame => "frame must be gicd, gicc, gich or gicv",
            ErrorKind::BadCpu => "CPU must be a number below the scenario's cpus",
            ErrorKind::BadOffset => {
                "offset must be a number or a non-empty range A..B of whole accesses"
            }
            ErrorKind::OutsideFrame => "offset beyond the end of the frame",
            ErrorKind::Unaligned => "a 32-bit access needs an offset that is a multiple of 4",
            ErrorKind::BadWidth => "width must be 8 or 32",
            ErrorKind::BadValue => "a write needs a value that fits its width",
            ErrorKind::MissingField => {
                "missing field: read FRAME CPU OFFSET WIDTH / write FRAME CPU OFFSET WIDTH VALUE"
            }
            ErrorKind::ExtraField => "too many fields",
        })
    }
}

/// A problem in a scenario text, with its line (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// The line.
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for Error {}

/// The lines of a text: number, content without comment and surrounding
/// blanks, and the byte offset where the line starts.
#[derive(Debug, Clone)]
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, first_line: u32) -> Self {
        Lines {
            text,
            pos: 0,
            line: first_line.saturating_sub(1),
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    /// (line number, content, byte offset of the line's start)
    type Item = (u32, &'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.text.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let start = self.pos;
        let (raw, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.line += 1;
        let content = match raw.find('#') {
            Some(i) => &raw[..i],
            None => raw,
        };
        Some((self.line, content.trim(), start))
    }
}

/// A number: decimal or `0x` hexadecimal, `_` allowed between digits.
fn number(s: &str) -> Option<u32> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let mut value: u32 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        value = value.checked_mul(radix)?.checked_add(c.to_digit(radix)?)?;
    }
    Some(value)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A parsed step line: the first access, and where a range ends.
#[derive(Debug, Clone, Copy)]
struct StepLine {
    access: Access,
    /// Offset one past the last access (`offset + width` for one access).
    end: u32,
}

fn parse_step(content: &str, cpus: u8) -> Result<Option<StepLine>, ErrorKind> {
    let mut fields = content.split_ascii_whitespace();
    let write = match fields.next() {
        Some("read") => false,
        Some("write") => true,
        _ => return Ok(None),
    };
    let mut field = || fields.next().ok_or(ErrorKind::MissingField);
    let frame = Frame::parse(field()?).ok_or(ErrorKind::BadFrame)?;
    let cpu = number(field()?)
        .filter(|&c| c < cpus as u32)
        .ok_or(ErrorKind::BadCpu)? as u8;
    let offset_field = field()?;
    let width = match field()? {
        "8" => Width::Byte,
        "32" => Width::Word,
        _ => return Err(ErrorKind::BadWidth),
    };
    let op = if write {
        let v = number(field()?)
            .filter(|&v| v <= width.max())
            .ok_or(ErrorKind::BadValue)?;
        Op::Write(v)
    } else {
        Op::Read
    };
    if fields.next().is_some() {
        return Err(ErrorKind::ExtraField);
    }
    let (offset, end) = match offset_field.split_once("..") {
        Some((a, b)) => {
            let a = number(a).ok_or(ErrorKind::BadOffset)?;
            let b = number(b).ok_or(ErrorKind::BadOffset)?;
            if b <= a || (b - a) % width.bytes() != 0 {
                return Err(ErrorKind::BadOffset);
            }
            (a, b)
        }
        None => {
            let a = number(offset_field).ok_or(ErrorKind::BadOffset)?;
            (a, a.saturating_add(width.bytes()))
        }
    };
    if end > frame.size() {
        return Err(ErrorKind::OutsideFrame);
    }
    if width == Width::Word && offset % 4 != 0 {
        return Err(ErrorKind::Unaligned);
    }
    Ok(Some(StepLine {
        access: Access {
            frame,
            cpu,
            offset,
            width,
            op,
        },
        end,
    }))
}

/// The scenarios of a text, in order; see the [crate documentation](crate).
///
/// Each item is a scenario whose every line has been checked, or the first
/// error in one (the walk goes on with the next scenario).
pub fn scenarios(text: &str) -> Scenarios<'_> {
    Scenarios {
        lines: Lines::new(text, 1),
        text,
    }
}

/// Iterator over the scenarios of a text; see [`scenarios`].
#[derive(Debug, Clone)]
pub struct Scenarios<'a> {
    lines: Lines<'a>,
    text: &'a str,
}

impl<'a> Iterator for Scenarios<'a> {
    type Item = Result<Scenario<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        // The `scenario NAME` line.
        let (line, name) = loop {
            let (line, content, _) = self.lines.next()?;
            if content.is_empty() {
                continue;
            }
            let mut fields = content.split_ascii_whitespace();
            if fields.next() != Some("scenario") {
                // Skip to the next scenario line so the walk can go on.
                self.skip_to_next_scenario();
                return Some(Err(Error {
                    line,
                    kind: ErrorKind::OutsideScenario,
                }));
            }
            match (fields.next(), fields.next()) {
                (Some(name), None) if valid_name(name) => break (line, name),
                _ => {
                    self.skip_to_next_scenario();
                    return Some(Err(Error {
                        line,
                        kind: ErrorKind::BadName,
                    }));
                }
            }
        };
        Some(self.scenario(line, name))
    }
}

impl<'a> Scenarios<'a> {
    /// Moves to just before the next `scenario` line (or the end).
    fn skip_to_next_scenario(&mut self) {
        loop {
            let before = self.lines.clone();
            match self.lines.next() {
                None => return,
                Some((_, content, _)) if is_scenario_line(content) => {
                    self.lines = before;
                    return;
                }
                Some(_) => {}
            }
        }
    }

    /// The header and body after `scenario NAME` on `line`.
    fn scenario(&mut self, line: u32, name: &'a str) -> Result<Scenario<'a>, Error> {
        let mut cpus: Option<u8> = None;
        let mut reset = false;
        let mut body: Option<(usize, u32)> = None;
        let mut end = self.text.len();
        let mut steps = 0u32;
        let mut error: Option<Error> = None;
        loop {
            let before = self.lines.clone();
            let Some((n, content, start)) = self.lines.next() else {
                break;
            };
            if content.is_empty() {
                continue;
            }
            if is_scenario_line(content) {
                self.lines = before;
                end = start;
                break;
            }
            if error.is_some() {
                continue;
            }
            let err = |kind| Some(Error { line: n, kind });
            let mut fields = content.split_ascii_whitespace();
            match fields.next() {
                Some("cpus") => {
                    if body.is_some() {
                        error = err(ErrorKind::HeaderAfterSteps);
                    } else if cpus.is_some() {
                        error = err(ErrorKind::DuplicateHeader);
                    } else {
                        match (fields.next().and_then(number), fields.next()) {
                            (Some(c), None) if (1..=MAX_CPUS as u32).contains(&c) => {
                                cpus = Some(c as u8)
                            }
                            _ => error = err(ErrorKind::BadCpus),
                        }
                    }
                }
                Some("reset") => {
                    if body.is_some() {
                        error = err(ErrorKind::HeaderAfterSteps);
                    } else if reset {
                        error = err(ErrorKind::DuplicateHeader);
                    } else if fields.next().is_some() {
                        error = err(ErrorKind::ExtraField);
                    } else {
                        reset = true;
                    }
                }
                _ => {
                    let Some(c) = cpus else {
                        error = err(ErrorKind::MissingCpus);
                        continue;
                    };
                    match parse_step(content, c) {
                        Ok(Some(s)) => {
                            body.get_or_insert((start, n));
                            steps += (s.end - s.access.offset) / s.access.width.bytes();
                        }
                        Ok(None) => error = err(ErrorKind::UnknownKeyword),
                        Err(kind) => error = err(kind),
                    }
                }
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
        let cpus = cpus.ok_or(Error {
            line,
            kind: ErrorKind::MissingCpus,
        })?;
        let (start, body_line) = body.ok_or(Error {
            line,
            kind: ErrorKind::NoSteps,
        })?;
        Ok(Scenario {
            name,
            cpus,
            reset,
            line,
            body: self.text.get(start..end).unwrap_or(""),
            body_line,
            step_count: steps,
        })
    }
}

fn is_scenario_line(content: &str) -> bool {
    content.split_ascii_whitespace().next() == Some("scenario")
}

/// One checked scenario of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario<'a> {
    /// Its name.
    pub name: &'a str,
    /// CPUs on the board.
    pub cpus: u8,
    /// Runs on the GIC as it comes out of reset, without the prologue.
    pub reset: bool,
    /// The line of its `scenario` line.
    pub line: u32,
    body: &'a str,
    body_line: u32,
    step_count: u32,
}

impl<'a> Scenario<'a> {
    /// Its steps, in order.
    pub fn steps(&self) -> Steps<'a> {
        Steps {
            lines: Lines::new(self.body, self.body_line),
            cpus: self.cpus,
            number: 0,
            range: None,
        }
    }

    /// How many steps it has.
    pub fn step_count(&self) -> u32 {
        self.step_count
    }

    /// How many of its steps are reads.
    pub fn read_count(&self) -> u32 {
        self.steps().filter(|s| s.access.op == Op::Read).count() as u32
    }

    /// A 64-bit FNV-1a hash of what it does (CPUs, `reset`, every access),
    /// so that a recorded answer can be matched to the scenario it answered.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv::new();
        h.byte(self.cpus);
        h.byte(self.reset as u8);
        for s in self.steps() {
            let a = s.access;
            h.byte(a.frame.index());
            h.byte(a.cpu);
            h.word(a.offset);
            h.byte(a.width.bytes() as u8);
            match a.op {
                Op::Read => h.byte(0),
                Op::Write(v) => {
                    h.byte(1);
                    h.word(v)
                }
            }
        }
        h.0
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    const fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn word(&mut self, w: u32) {
        w.to_le_bytes().into_iter().for_each(|b| self.byte(b));
    }
}

/// Iterator over the steps of a scenario; see [`Scenario::steps`].
#[derive(Debug, Clone)]
pub struct Steps<'a> {
    lines: Lines<'a>,
    cpus: u8,
    number: u32,
    /// The range being expanded: its next access, its end, its line.
    range: Option<(Access, u32, u32)>,
}

impl Iterator for Steps<'_> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        loop {
            if let Some((access, end, line)) = self.range {
                let next = access.offset + access.width.bytes();
                self.range = (next < end).then_some((
                    Access {
                        offset: next,
                        ..access
                    },
                    end,
                    line,
                ));
                self.number += 1;
                return Some(Step {
                    number: self.number,
                    line,
                    access,
                });
            }
            let (line, content, _) = self.lines.next()?;
            // The scenario was checked when it was made: every line is a
            // header, a step, or empty.
            if let Ok(Some(s)) = parse_step(content, self.cpus) {
                self.range = Some((s.access, s.end, line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# a corpus
scenario one   # comment
cpus 2
write gicd 0 0x000 32 0x3
read gicc 1 0x00c 32
read gicd 0 0x100..0x10c 32
read gicd 1 0x800..0x802 8

scenario two
cpus 1
reset
read gich 0 0x004 32
";

    fn all(text: &str) -> impl Iterator<Item = Result<Scenario<'_>, Error>> {
        scenarios(text)
    }

    #[test]
    fn scenarios_and_steps_are_read_in_order_with_ranges_expanded() {
        let s: [Scenario; 2] = {
            let mut it = all(TEXT).map(Result::unwrap);
            [it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(
            (s[0].name, s[0].cpus, s[0].reset, s[0].line),
            ("one", 2, false, 2)
        );
        assert_eq!(
            (s[1].name, s[1].cpus, s[1].reset, s[1].line),
            ("two", 1, true, 9)
        );
        let steps: [Step; 7] = {
            let mut it = s[0].steps();
            core::array::from_fn(|_| it.next().unwrap())
        };
        assert_eq!(s[0].steps().count(), 7);
        assert_eq!(s[0].step_count(), 7);
        assert_eq!(s[0].read_count(), 6);
        assert_eq!(steps[0].access.op, Op::Write(3));
        assert_eq!(
            (steps[1].number, steps[1].line, steps[1].access.cpu),
            (2, 5, 1)
        );
        let offsets = steps[2..].iter().map(|s| s.access.offset);
        assert!(offsets.eq([0x100, 0x104, 0x108, 0x800, 0x801]));
        assert_eq!(steps[6].access.width, Width::Byte);
        assert_eq!(steps[6].line, 7);
        let two: [Step; 1] = [s[1].steps().next().unwrap()];
        assert_eq!(two[0].access.frame, Frame::Gich);
        assert_eq!((two[0].number, two[0].line), (1, 12));
    }

    fn first_error(text: &str) -> Error {
        all(text).find_map(Result::err).unwrap()
    }

    #[test]
    fn every_malformed_line_is_refused_with_its_line() {
        let e = |body: &str| first_error(body).kind;
        let h = "scenario x\ncpus 2\n";
        let with = |step: &str| {
            let mut s = [0u8; 128];
            let t = [h.as_bytes(), step.as_bytes()];
            let mut n = 0;
            for part in t {
                s[n..n + part.len()].copy_from_slice(part);
                n += part.len();
            }
            e(core::str::from_utf8(&s[..n]).unwrap())
        };
        assert_eq!(with("read gicx 0 0 32"), ErrorKind::BadFrame);
        assert_eq!(with("read gicd 2 0 32"), ErrorKind::BadCpu);
        assert_eq!(with("read gicd 0 0x1000 32"), ErrorKind::OutsideFrame);
        assert_eq!(
            with("read gicc 0 0x1ffc 32\nread gich 0 0x1000 32"),
            ErrorKind::OutsideFrame
        );
        assert_eq!(with("read gicd 0 2 32"), ErrorKind::Unaligned);
        assert_eq!(with("read gicd 0 0 16"), ErrorKind::BadWidth);
        assert_eq!(with("write gicd 0 0 8 0x100"), ErrorKind::BadValue);
        assert_eq!(with("write gicd 0 0 32"), ErrorKind::MissingField);
        assert_eq!(with("read gicd 0 0 32 5"), ErrorKind::ExtraField);
        assert_eq!(with("read gicd 0 8..4 32"), ErrorKind::BadOffset);
        assert_eq!(with("read gicd 0 0..6 32"), ErrorKind::BadOffset);
        assert_eq!(with("read gicd 0 zz 32"), ErrorKind::BadOffset);
        assert_eq!(with("poke gicd 0 0 32"), ErrorKind::UnknownKeyword);
        assert_eq!(
            with("read gicd 0 0 32\ncpus 1"),
            ErrorKind::HeaderAfterSteps
        );
        assert_eq!(with("cpus 1"), ErrorKind::DuplicateHeader);
        assert_eq!(
            e("scenario x\ncpus 9\nread gicd 0 0 32"),
            ErrorKind::BadCpus
        );
        assert_eq!(e("scenario x\nread gicd 0 0 32"), ErrorKind::MissingCpus);
        assert_eq!(e("scenario x\ncpus 1\n"), ErrorKind::NoSteps);
        assert_eq!(
            e("scenario a:b\ncpus 1\nread gicd 0 0 32"),
            ErrorKind::BadName
        );
        assert_eq!(e("read gicd 0 0 32\n"), ErrorKind::OutsideScenario);
        assert_eq!(
            first_error("\n\nscenario x\ncpus 1\nread gicd 0 0 3\n").line,
            5
        );
    }

    #[test]
    fn a_bad_scenario_does_not_hide_the_next_one() {
        let text = "scenario a\ncpus 1\nread gicd 0 0 7\nscenario b\ncpus 1\nread gicd 0 0 32\n";
        let mut it = scenarios(text);
        assert_eq!(it.next().unwrap().unwrap_err().line, 3);
        assert_eq!(it.next().unwrap().unwrap().name, "b");
        assert!(it.next().is_none());
    }

    #[test]
    fn numbers_are_decimal_or_hex_with_underscores() {
        assert_eq!(number("0x0804_0000"), Some(0x0804_0000));
        assert_eq!(number("4096"), Some(4096));
        assert_eq!(number("0x"), None);
        assert_eq!(number("0x1_0000_0000"), None);
        assert_eq!(number("-1"), None);
    }

    #[test]
    fn the_fingerprint_changes_with_any_access() {
        let fp = |t: &str| scenarios(t).next().unwrap().unwrap().fingerprint();
        let a = fp("scenario a\ncpus 1\nwrite gicd 0 0 32 1\n");
        assert_eq!(
            a,
            fp("scenario renamed\ncpus 1\nwrite gicd 0 0x0 32 0x1 # same\n")
        );
        assert_ne!(a, fp("scenario a\ncpus 1\nwrite gicd 0 0 32 2\n"));
        assert_ne!(a, fp("scenario a\ncpus 2\nwrite gicd 0 0 32 1\n"));
        assert_ne!(a, fp("scenario a\ncpus 1\nreset\nwrite gicd 0 0 32 1\n"));
        assert_ne!(a, fp("scenario a\ncpus 1\nwrite gicc 0 0 32 1\n"));
    }
}
