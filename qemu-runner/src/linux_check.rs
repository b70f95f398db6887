//! Checking the console output of a Linux guest that booted the runner's
//! initramfs (`qemu-runner check-linux`): its init ran, `/proc/interrupts`
//! shows the GIC delivering the arch timer and knowing the UART, the kernel
//! logged no GIC warning, and it powered off.

use crate::initramfs::{MARKER, POWERING_OFF};

/// The GIC INTID of the EL1 virtual timer (PPI 11), which Linux uses at EL1.
pub const TIMER_INTID: u32 = 27;
/// The GIC INTID of QEMU virt's PL011 UART (SPI 1).
pub const UART_INTID: u32 = 33;

/// What the kernel prints as it powers the machine off.
pub const POWER_DOWN: &str = "reboot: Power down";

/// Fragments of kernel log lines that mean the GIC (or interrupt
/// delivery) went wrong, matched without regard to case. A line about the
/// GIC with a failure word is one too (see [`gic_warnings`]).
pub const WARNINGS: &[&str] = &[
    "GIC CPU mask not found",
    "irq-gic",
    "nobody cared",
    "spurious interrupt",
    "unexpected IRQ trap",
    "rcu_sched self-detected stall",
    "rcu: INFO",
];

/// Words that, in a line that mentions the GIC, make it a warning.
const FAILURE_WORDS: &[&str] = &[
    "warn",
    "fail",
    "error",
    "not found",
    "unable",
    "invalid",
    "cannot",
    "bad",
    "broken",
    "missing",
];

/// One interrupt line of `/proc/interrupts` handled by a GIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GicLine {
    /// Linux's IRQ number (the first column).
    pub irq: u32,
    /// The count on each CPU.
    pub counts: Vec<u64>,
    /// The chip ("GICv2").
    pub chip: String,
    /// The GIC INTID (the chip's hardware IRQ number).
    pub intid: u32,
    /// The rest: the trigger and the handler's name ("Level arch_timer").
    pub rest: String,
}

impl GicLine {
    /// The count over all CPUs.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The GIC lines of every `/proc/interrupts` table in `output`: lines of
/// the form `IRQ: COUNT... CHIP INTID REST` whose chip starts with "GIC".
pub fn gic_lines(output: &str) -> Vec<GicLine> {
    output
        .lines()
        .filter_map(|line| {
            let (irq, fields) = line.trim().split_once(':')?;
            let irq = irq.trim().parse().ok()?;
            let mut words = fields.split_whitespace().peekable();
            let mut counts = Vec::new();
            while let Some(count) = words.peek().and_then(|w| w.parse().ok()) {
                counts.push(count);
                words.next();
            }
            let chip = words.next()?;
            if counts.is_empty() || !chip.starts_with("GIC") {
                return None;
            }
            let intid = words.next()?.parse().ok()?;
            Some(GicLine {
                irq,
                counts,
                chip: chip.to_string(),
                intid,
                rest: words.collect::<Vec<_>>().join(" "),
            })
        })
        .collect()
}

/// The lines of `output` that look like a GIC or interrupt-delivery
/// warning: any of [`WARNINGS`], or a line that names the GIC together
/// with a failure word.
pub fn gic_warnings(output: &str) -> Vec<&str> {
    output
        .lines()
        .map(str::trim_end)
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            let known = WARNINGS
                .iter()
                .any(|w| lower.contains(&w.to_ascii_lowercase()));
            let about_gic = lower.contains("gic");
            known || (about_gic && FAILURE_WORDS.iter().any(|w| lower.contains(w)))
        })
        .collect()
}

/// The outcome of each check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// (passed, what was checked and found).
    pub checks: Vec<(bool, String)>,
}

impl Report {
    /// Every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|(ok, _)| *ok)
    }

    /// One line per check ("ok: ..." or "FAILED: ..."), then the verdict.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .checks
            .iter()
            .map(|(ok, what)| format!("{}: {what}", if *ok { "ok" } else { "FAILED" }))
            .collect();
        let failed = self.checks.iter().filter(|(ok, _)| !ok).count();
        lines.push(format!(
            "check-linux: {} passed, {failed} failed",
            self.checks.len() - failed
        ));
        lines
    }
}

/// Whether `output` has `want` as a whole line (trailing whitespace and
/// the UART's `\r` ignored).
fn has_line(output: &str, want: &str) -> bool {
    output.lines().any(|l| l.trim_end() == want)
}

/// Runs every check on a Linux guest's console output; `cpus`, if given,
/// is the count `nproc` must have printed.
pub fn check(output: &str, cpus: Option<u32>) -> Report {
    let mut checks = Vec::new();
    checks.push(if has_line(output, MARKER) {
        (true, format!("the init ran ({MARKER:?})"))
    } else {
        (false, format!("the init never ran: no line {MARKER:?}"))
    });
    if let Some(cpus) = cpus {
        let want = format!("gic-toolkit: nproc {cpus}");
        checks.push((
            has_line(output, &want),
            format!("the guest sees {cpus} CPU(s) ({want:?})"),
        ));
    }
    let lines = gic_lines(output);
    let find = |intid| lines.iter().find(|l| l.intid == intid);
    checks.push(match find(TIMER_INTID) {
        Some(timer) if timer.total() > 0 => (
            true,
            format!(
                "/proc/interrupts: INTID {TIMER_INTID} ({}) on {} taken {} time(s)",
                timer.rest,
                timer.chip,
                timer.total()
            ),
        ),
        Some(timer) => (
            false,
            format!(
                "/proc/interrupts: INTID {TIMER_INTID} ({}) was never taken: the arch timer's \
                 interrupt does not reach the guest",
                timer.rest
            ),
        ),
        None => (
            false,
            format!("/proc/interrupts lists no GIC line for INTID {TIMER_INTID} (the arch timer)"),
        ),
    });
    checks.push(match find(UART_INTID) {
        Some(uart) => (
            true,
            format!(
                "/proc/interrupts: INTID {UART_INTID} ({}) on {}, {} time(s)",
                uart.rest,
                uart.chip,
                uart.total()
            ),
        ),
        None => (
            false,
            format!("/proc/interrupts lists no GIC line for INTID {UART_INTID} (the PL011 UART)"),
        ),
    });
    let warnings = gic_warnings(output);
    checks.push(if warnings.is_empty() {
        (true, "no GIC warning in the kernel log".to_string())
    } else {
        (
            false,
            format!(
                "GIC warning(s) in the kernel log: {}",
                warnings
                    .iter()
                    .map(|w| format!("{:?}", w.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    });
    let powered_off = output.lines().any(|l| l.trim_end().ends_with(POWER_DOWN));
    checks.push(if powered_off && has_line(output, POWERING_OFF) {
        (true, format!("the init powered off ({POWER_DOWN:?})"))
    } else if powered_off {
        (
            false,
            format!("the kernel powered off before the init's {POWERING_OFF:?}"),
        )
    } else {
        (
            false,
            format!("no power-off: the kernel never printed {POWER_DOWN:?}"),
        )
    });
    Report { checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of a good run (Debian 12's 6.1 kernel on QEMU, one CPU).
    const GOOD: &str = "\
[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]\r
[    0.000000] Root IRQ handler: gic_handle_irq\r
[    0.000000] GICv2m: range[mem 0x08020000-0x08020fff], SPI[80:143]\r
[    0.000000] arch_timer: cp15 timer(s) running at 62.50MHz (virt).\r
[    1.234567] Run /init as init process\r
gic-toolkit: init reached\r
gic-toolkit: nproc 1\r
           CPU0       \r
 11:       1523 GIC-0  27 Level     arch_timer\r
 13:          0 GIC-0  33 Level     uart-pl011\r
 14:          0 GIC-0  23 Level     arm-pmu\r
IPI0:          0       Rescheduling interrupts\r
Err:          0\r
gic-toolkit: powering off\r
[    2.500000] reboot: Power down\r
";

    #[test]
    fn a_good_run_passes_every_check() {
        let report = check(GOOD, Some(1));
        assert!(report.passed(), "{:#?}", report.lines());
        assert_eq!(report.checks.len(), 6);
        let lines = report.lines();
        assert_eq!(lines.last().unwrap(), "check-linux: 6 passed, 0 failed");
        assert!(
            lines[2].contains("INTID 27 (Level arch_timer) on GIC-0 taken 1523"),
            "{lines:?}"
        );
    }

    #[test]
    fn gic_lines_are_read_from_proc_interrupts() {
        let lines = gic_lines(GOOD);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            GicLine {
                irq: 11,
                counts: vec![1523],
                chip: "GIC-0".into(),
                intid: 27,
                rest: "Level arch_timer".into(),
            }
        );
        // Two CPUs: the counts add up.
        let smp = " 11:        100         23 GIC-0  27 Level     arch_timer\n";
        let lines = gic_lines(smp);
        assert_eq!(lines[0].counts, [100, 23]);
        assert_eq!(lines[0].total(), 123);
        // IPIs, the error count and log lines with colons are not GIC lines.
        assert!(gic_lines("IPI0: 5 Rescheduling\nErr: 0\n[ 0.1] GIC: 3 x\n").is_empty());
    }

    #[test]
    fn a_run_that_never_reached_init_fails_naming_the_marker() {
        let output = GOOD.replace(MARKER, "something else");
        let report = check(&output, None);
        assert!(!report.passed());
        assert!(report.lines()[0].starts_with("FAILED: the init never ran"));
    }

    #[test]
    fn a_timer_that_never_fired_or_is_missing_fails() {
        let silent = GOOD.replace("1523", "0");
        let report = check(&silent, None);
        assert!(!report.passed());
        assert!(
            report
                .lines()
                .iter()
                .any(|l| l.contains("INTID 27") && l.contains("never taken")),
            "{:?}",
            report.lines()
        );
        let without: String = GOOD
            .lines()
            .filter(|l| !l.contains("arch_timer"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!check(&without, None).passed());
    }

    #[test]
    fn a_missing_uart_line_fails() {
        let without: String = GOOD
            .lines()
            .filter(|l| !l.contains("uart-pl011"))
            .collect::<Vec<_>>()
            .join("\n");
        let report = check(&without, None);
        assert!(!report.passed());
        assert!(report
            .lines()
            .iter()
            .any(|l| l.starts_with("FAILED") && l.contains("INTID 33")));
    }

    #[test]
    fn gic_warnings_in_the_log_fail() {
        for warning in [
            "[    0.000000] GIC CPU mask not found - kernel will fail to boot.",
            "[    0.000000] GICv2: unable to map the CPU interface",
            "[    3.000000] irq 13: nobody cared (try booting with the irqpoll option)",
            "[    0.100000] WARNING: CPU: 0 PID: 0 at drivers/irqchip/irq-gic.c:1 x",
        ] {
            let output = GOOD.replace(
                "gic-toolkit: init reached",
                &format!("{warning}\ngic-toolkit: init reached"),
            );
            let report = check(&output, None);
            assert!(!report.passed(), "{warning}");
            assert!(
                report
                    .lines()
                    .iter()
                    .any(|l| l.starts_with("FAILED: GIC warning") && l.contains(warning.trim())),
                "{warning}: {:?}",
                report.lines()
            );
        }
        // The GIC's ordinary boot lines are not warnings.
        assert!(gic_warnings(GOOD).is_empty());
        assert!(gic_warnings("[ 0.0] GICv2: GICv2m DT probing failed").len() == 1);
    }

    #[test]
    fn a_run_without_power_off_fails() {
        let output = GOOD.replace(POWER_DOWN, "Kernel panic - not syncing");
        let report = check(&output, None);
        assert!(!report.passed());
        assert!(report.lines().iter().any(|l| l.contains("no power-off")));
    }

    #[test]
    fn the_cpu_count_is_checked_when_asked() {
        assert!(check(GOOD, Some(1)).passed());
        assert!(!check(GOOD, Some(2)).passed());
        assert!(check(GOOD, None).passed());
    }
}
