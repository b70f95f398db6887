//! Turning how QEMU ended, and what it printed, into the runner's exit
//! status and a one-line explanation.

use crate::qemu::Ending;

/// Exit status when QEMU ran past the time limit (as `timeout(1)` uses).
pub const TIMED_OUT: u8 = 124;
/// Exit status when the runner itself failed (QEMU missing, build failed).
pub const RUNNER_FAILED: u8 = 125;
/// Exit status when the demo exited 0 but an `--expect`ed line is missing.
pub const EXPECTATION_FAILED: u8 = 1;
/// The hypervisor's status when a guest (`--guest`) asked for PSCI
/// SYSTEM_RESET (SYSTEM_OFF is 0).
pub const GUEST_RESET_STATUS: i32 = 6;

/// Every exit status of the runner, as `--help` shows it (and the README
/// repeats it: a test keeps the two in step).
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0       the demo exited 0 and printed every --expect'ed line; with
          --guest: the guest powered off (PSCI SYSTEM_OFF) and every
          --expect'ed line was printed
  1       the demo exited 0 but an --expect'ed line is missing
  1-5,101 the demo's own failure status, passed through: 1 wrong or repeated
          interrupts, 2 interrupts missing before the demo's deadline,
          3 unexpected exception, 4 not started at EL2, 5 the GIC driver
          refused a call, 101 a panic (any other status also passes through)
  6       with --guest: the guest reset the machine (PSCI SYSTEM_RESET)
  124     the time limit (--timeout) ran out and the runner killed QEMU
  125     the runner could not run: QEMU missing or older than 7.2, the ELF
          missing, the build (--build) failed, a bad option, a --guest or
          --initrd file missing, unreadable or too big for --memory
  128+N   QEMU was killed by signal N";

/// The runner's exit status and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The process exit status.
    pub code: u8,
    /// One line for the user.
    pub message: String,
}

/// What the demo's exit statuses mean (see hypervisor-demo's
/// `semihosting::status`; keep the two in step).
pub fn describe_demo_status(code: i32) -> &'static str {
    match code {
        0 => "success",
        1 => "unexpected interrupts, or in the wrong order",
        2 => "interrupts missing before the demo's own deadline",
        3 => "unexpected exception",
        4 => "not started at EL2",
        5 => "the GIC driver refused a call",
        GUEST_RESET_STATUS => "the guest reset the machine (PSCI SYSTEM_RESET)",
        101 => "panic",
        _ => "unknown status",
    }
}

/// The lines of `expected` that do not appear as whole lines of `output`
/// (trailing whitespace, including the UART's `\r`, is ignored on both).
pub fn missing_lines<'a>(output: &str, expected: &'a [String]) -> Vec<&'a str> {
    expected
        .iter()
        .map(|line| line.trim_end())
        .filter(|want| !output.lines().any(|line| line.trim_end() == *want))
        .collect()
}

/// The runner's verdict: the demo's status when QEMU exited (so a demo
/// failure is the runner's failure), [`TIMED_OUT`] when it hung, 128 + the
/// signal when QEMU was killed, and [`EXPECTATION_FAILED`] when the demo
/// passed but printed less than expected.
pub fn verdict(ending: Ending, missing: &[&str]) -> Verdict {
    let missing_note = if missing.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = missing.iter().map(|l| format!("{l:?}")).collect();
        format!(
            "; expected line(s) missing from the output: {}",
            quoted.join(", ")
        )
    };
    match ending {
        Ending::Exited(0) if missing.is_empty() => Verdict {
            code: 0,
            message: "demo exited with status 0 (success)".into(),
        },
        Ending::Exited(0) => Verdict {
            code: EXPECTATION_FAILED,
            message: format!("demo exited with status 0{missing_note}"),
        },
        Ending::Exited(code) => Verdict {
            // A status outside 1-255 would read as success or wrap; keep it a failure.
            code: u8::try_from(code).ok().filter(|&c| c != 0).unwrap_or(1),
            message: format!(
                "demo failed with status {code} ({}){missing_note}",
                describe_demo_status(code)
            ),
        },
        Ending::Signalled(signal) => Verdict {
            code: signal.and_then(|s| u8::try_from(128 + s).ok()).unwrap_or(1),
            message: match signal {
                Some(s) => format!("QEMU was killed by signal {s}{missing_note}"),
                None => format!("QEMU was killed by a signal{missing_note}"),
            },
        },
        Ending::TimedOut(limit) => Verdict {
            code: TIMED_OUT,
            message: format!(
                "timed out after {} s: killed QEMU (the demo never exited; \
                 raise the limit with --timeout){missing_note}",
                limit.as_secs_f64()
            ),
        },
    }
}

/// [`verdict`] for a run with `--guest`: status 0 is the guest's power-off
/// (PSCI SYSTEM_OFF), [`GUEST_RESET_STATUS`] its reset, and a time-out is
/// a guest that neither powered off nor reset.
pub fn guest_verdict(ending: Ending, missing: &[&str]) -> Verdict {
    let mut v = verdict(ending, missing);
    match ending {
        Ending::Exited(0) if missing.is_empty() => {
            v.message = "the guest powered off (PSCI SYSTEM_OFF): status 0 (success)".into()
        }
        Ending::Exited(0) => {
            v.message = v.message.replacen(
                "demo exited with status 0",
                "the guest powered off (PSCI SYSTEM_OFF)",
                1,
            )
        }
        Ending::Exited(GUEST_RESET_STATUS) => {
            v.message = v.message.replacen(
                &format!(
                    "demo failed with status {GUEST_RESET_STATUS} ({})",
                    describe_demo_status(GUEST_RESET_STATUS)
                ),
                &format!(
                    "the guest reset the machine (PSCI SYSTEM_RESET): status {GUEST_RESET_STATUS}"
                ),
                1,
            )
        }
        Ending::Exited(_) => v.message = v.message.replacen("demo failed", "hypervisor failed", 1),
        Ending::TimedOut(_) => {
            v.message = v.message.replacen(
                "the demo never exited",
                "the guest neither powered off nor reset",
                1,
            )
        }
        Ending::Signalled(_) => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn demo_success_is_runner_success() {
        let v = verdict(Ending::Exited(0), &[]);
        assert_eq!(v.code, 0);
        assert!(v.message.contains("status 0"), "{}", v.message);
    }

    #[test]
    fn demo_failure_status_is_passed_through() {
        for code in [1, 2, 3, 4, 5, 101, 255] {
            assert_eq!(verdict(Ending::Exited(code), &[]).code, code as u8);
        }
        assert!(verdict(Ending::Exited(2), &[])
            .message
            .contains("interrupts missing"));
    }

    #[test]
    fn out_of_range_status_stays_a_failure() {
        assert_eq!(verdict(Ending::Exited(256), &[]).code, 1);
        assert_eq!(verdict(Ending::Exited(-1), &[]).code, 1);
    }

    #[test]
    fn timeout_is_124_and_says_so() {
        let v = verdict(Ending::TimedOut(Duration::from_secs(30)), &[]);
        assert_eq!(v.code, TIMED_OUT);
        assert!(v.message.contains("timed out after 30 s"), "{}", v.message);
        assert!(v.message.contains("killed QEMU"), "{}", v.message);
    }

    #[test]
    fn signal_is_128_plus_signal() {
        assert_eq!(verdict(Ending::Signalled(Some(9)), &[]).code, 137);
        assert_eq!(verdict(Ending::Signalled(None), &[]).code, 1);
    }

    #[test]
    fn missing_expectation_fails_a_successful_demo() {
        let v = verdict(Ending::Exited(0), &["verdict: PASS"]);
        assert_eq!(v.code, EXPECTATION_FAILED);
        assert!(v.message.contains("\"verdict: PASS\""), "{}", v.message);
    }

    #[test]
    fn demo_status_wins_over_missing_expectation() {
        let v = verdict(Ending::Exited(3), &["verdict: PASS"]);
        assert_eq!(v.code, 3);
        assert!(v.message.contains("unexpected exception"), "{}", v.message);
        assert!(v.message.contains("verdict: PASS"), "{}", v.message);
    }

    #[test]
    fn expected_lines_match_whole_lines_ignoring_carriage_returns() {
        let output = "banner\r\nreceived SGI 3 from CPU 0\r\nverdict: PASS\r\n";
        let expected = vec![
            "received SGI 3 from CPU 0".to_string(),
            "verdict: PASS".to_string(),
            "verdict".to_string(),
            "received SGI 4 from CPU 0".to_string(),
        ];
        assert_eq!(
            missing_lines(output, &expected),
            ["verdict", "received SGI 4 from CPU 0"]
        );
    }

    #[test]
    fn a_guest_power_off_is_success_and_its_reset_is_status_6() {
        let v = guest_verdict(Ending::Exited(0), &[]);
        assert_eq!(v.code, 0);
        assert!(v.message.contains("PSCI SYSTEM_OFF"), "{}", v.message);
        let v = guest_verdict(Ending::Exited(GUEST_RESET_STATUS), &[]);
        assert_eq!(v.code, 6);
        assert_eq!(
            v.message,
            "the guest reset the machine (PSCI SYSTEM_RESET): status 6"
        );
        let v = guest_verdict(Ending::Exited(3), &[]);
        assert_eq!(v.code, 3);
        assert_eq!(
            v.message,
            "hypervisor failed with status 3 (unexpected exception)"
        );
        let v = guest_verdict(Ending::Exited(0), &["gic-toolkit: init reached"]);
        assert_eq!(v.code, EXPECTATION_FAILED);
        assert!(
            v.message
                .starts_with("the guest powered off (PSCI SYSTEM_OFF); expected line"),
            "{}",
            v.message
        );
        let v = guest_verdict(Ending::TimedOut(Duration::from_secs(9)), &[]);
        assert_eq!(v.code, TIMED_OUT);
        assert!(
            v.message.contains("neither powered off nor reset"),
            "{}",
            v.message
        );
    }

    #[test]
    fn no_expectations_are_never_missing() {
        assert!(missing_lines("", &[]).is_empty());
    }
}
