//! The hypervisor's command line: QEMU's `-append`, which reaches
//! `/chosen/bootargs` of the board's device tree.
//!
//! The boot contract with `qemu-runner` (README, "Booting your own guest"):
//!
//! ```text
//! <hypervisor args> -- <guest args>
//! guest=<addr>,<size>     where the runner loaded the guest's kernel (hex with 0x, or decimal)
//! initrd=<addr>,<size>    where it loaded the initrd, if any
//! ```
//!
//! Without `guest=` the hypervisor runs its built-in demo. The guest's
//! arguments are everything after the first ` -- ` word, as given.

use core::fmt;

use crate::dtb::Region;

/// The parsed command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootArgs<'a> {
    /// `guest=`: the guest's kernel file in memory.
    pub guest: Option<Region>,
    /// `initrd=`: the initrd file in memory.
    pub initrd: Option<Region>,
    /// The guest's command line (after ` -- `), trimmed.
    pub guest_args: &'a str,
}

/// A hypervisor argument the contract does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadArgument<'a>(pub &'a str);

impl fmt::Display for BadArgument<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad hypervisor argument {:?} (expected guest=ADDR,SIZE or initrd=ADDR,SIZE, then -- and the guest's arguments)",
            self.0
        )
    }
}

impl<'a> BootArgs<'a> {
    /// Parses `bootargs`.
    pub fn parse(bootargs: &'a str) -> Result<BootArgs<'a>, BadArgument<'a>> {
        let (ours, guest_args) = split_at_separator(bootargs);
        let mut args = BootArgs {
            guest_args: guest_args.trim(),
            ..BootArgs::default()
        };
        for word in ours.split_whitespace() {
            let (key, value) = word.split_once('=').ok_or(BadArgument(word))?;
            let region = parse_region(value).ok_or(BadArgument(word))?;
            match key {
                "guest" => args.guest = Some(region),
                "initrd" => args.initrd = Some(region),
                _ => return Err(BadArgument(word)),
            }
        }
        Ok(args)
    }
}

/// Splits at the first word that is exactly `--`: (before, after).
fn split_at_separator(s: &str) -> (&str, &str) {
    let mut start = 0;
    for word in s.split(' ') {
        let end = start + word.len();
        if word == "--" {
            return (&s[..start], s.get(end + 1..).unwrap_or(""));
        }
        start = end + 1;
    }
    (s, "")
}

/// `ADDR,SIZE`.
fn parse_region(s: &str) -> Option<Region> {
    let (base, size) = s.split_once(',')?;
    Some(Region {
        base: parse_number(base)?,
        size: parse_number(size)?,
    })
}

/// `0x` hexadecimal or decimal.
fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}
