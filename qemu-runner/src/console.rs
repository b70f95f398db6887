//! The runner's standard output: the guest's UART bytes and the demo's
//! decoded log lines, from two channels, merged so that neither cuts into
//! the other, and everything kept for `--expect`.
//!
//! UART bytes are written as they arrive. A log line that arrives while the
//! UART is in the middle of a line waits until that line ends (or, if it
//! stays open, [`HOLD`] at most, and then starts on a line of its own), so
//! the two streams interleave line by line, never byte by byte.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::logs::Line;

/// How long a log line waits for an open UART line to end.
pub const HOLD: Duration = Duration::from_millis(100);

/// Merges the UART and the log lines onto one writer.
pub struct Console<W> {
    out: W,
    verbose: bool,
    /// The last UART byte written was not a line end.
    uart_open: bool,
    /// Rendered log lines waiting for the UART line to end, and since when.
    held: Vec<String>,
    held_since: Option<Instant>,
    /// Plain text received on the log channel (an ELF without defmt), up
    /// to its next line end.
    text: Vec<u8>,
    /// Everything the UART printed.
    uart: Vec<u8>,
    /// The log lines, for `--expect`: each message, and each line as printed.
    logged: Vec<String>,
}

impl<W: Write> Console<W> {
    /// A console on `out`; `verbose` adds each log line's source location.
    pub fn new(out: W, verbose: bool) -> Self {
        Console {
            out,
            verbose,
            uart_open: false,
            held: Vec::new(),
            held_since: None,
            text: Vec::new(),
            uart: Vec::new(),
            logged: Vec::new(),
        }
    }

    /// Bytes from the UART.
    pub fn uart(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.uart.extend_from_slice(bytes);
        self.emit(bytes);
        self.uart_open = !bytes.ends_with(b"\n");
        if !self.uart_open {
            self.release();
        }
    }

    /// A decoded log line.
    pub fn log(&mut self, line: &Line) {
        let rendered = line.render(self.verbose);
        self.logged.push(line.message.clone());
        self.logged.push(line.render(false));
        self.put_line(rendered);
    }

    /// Plain text from the log channel (no defmt table to decode it
    /// with): shown line by line, like log lines.
    pub fn text(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
        while let Some(end) = self.text.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.text.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_owned();
            self.logged.push(line.clone());
            self.put_line(line);
        }
    }

    /// Time passes: a log line held for [`HOLD`] is written on a line of
    /// its own, ending the UART's open line.
    pub fn tick(&mut self, now: Instant) {
        if self
            .held_since
            .is_some_and(|since| now.duration_since(since) >= HOLD)
        {
            self.emit(b"\n");
            self.uart_open = false;
            self.release();
        }
    }

    /// The end of both streams: writes whatever is still held.
    pub fn finish(&mut self) {
        if !self.text.is_empty() {
            let rest = std::mem::take(&mut self.text);
            self.text(&rest);
            self.text(b"\n");
        }
        if !self.held.is_empty() {
            if self.uart_open {
                self.emit(b"\n");
                self.uart_open = false;
            }
            self.release();
        }
    }

    /// Everything printed, for `--expect`: the UART's text, then every log
    /// line (its message alone, and as printed with its level).
    pub fn expect_text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.uart).into_owned();
        for line in &self.logged {
            text.push('\n');
            text.push_str(line);
        }
        text
    }

    fn put_line(&mut self, line: String) {
        if self.uart_open {
            if self.held.is_empty() {
                self.held_since = Some(Instant::now());
            }
            self.held.push(line);
        } else {
            self.emit(line.as_bytes());
            self.emit(b"\n");
        }
    }

    fn release(&mut self) {
        self.held_since = None;
        for line in std::mem::take(&mut self.held) {
            self.emit(line.as_bytes());
            self.emit(b"\n");
        }
    }

    /// Writes to the output; a closed output (e.g. `| head`) must not stop
    /// the run, whose text is still kept for `--expect`.
    fn emit(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes).and_then(|()| self.out.flush());
    }

    #[cfg(test)]
    fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(message: &str) -> Line {
        Line {
            level: Some("INFO"),
            timestamp: None,
            message: message.into(),
            location: Some("demo @ src/main.rs:7".into()),
        }
    }

    fn printed(c: Console<Vec<u8>>) -> String {
        String::from_utf8(c.into_inner()).unwrap()
    }

    #[test]
    fn log_lines_and_uart_lines_interleave_line_by_line() {
        let mut c = Console::new(Vec::new(), false);
        c.log(&info("one"));
        c.uart(b"guest: hel");
        c.log(&info("two")); // waits: the UART line is open
        c.uart(b"lo\r\n");
        c.log(&info("three"));
        assert_eq!(
            printed(c),
            "INFO  one\nguest: hello\r\nINFO  two\nINFO  three\n"
        );
    }

    #[test]
    fn a_held_line_waits_no_longer_than_the_hold_time() {
        let mut c = Console::new(Vec::new(), false);
        c.uart(b"prompt> ");
        c.log(&info("two"));
        let start = c.held_since.unwrap();
        c.tick(start + HOLD / 2);
        assert_eq!(c.held.len(), 1);
        c.tick(start + HOLD);
        c.uart(b"typed\n");
        assert_eq!(printed(c), "prompt> \nINFO  two\ntyped\n");
    }

    #[test]
    fn finish_writes_what_is_held() {
        let mut c = Console::new(Vec::new(), false);
        c.uart(b"no newline");
        c.log(&info("last"));
        c.finish();
        assert_eq!(printed(c), "no newline\nINFO  last\n");
    }

    #[test]
    fn verbose_shows_locations() {
        let mut c = Console::new(Vec::new(), true);
        c.log(&info("here"));
        assert_eq!(printed(c), "INFO  here\n└─ demo @ src/main.rs:7\n");
    }

    #[test]
    fn expectations_see_the_uart_and_the_log_messages() {
        let mut c = Console::new(Vec::new(), true);
        c.uart(b"guest: its GICD_TYPER reads 0x0\r\n");
        c.log(&info("verdict: PASS"));
        c.text(b"plain text\nunfinished");
        c.finish();
        let text = c.expect_text();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        for want in [
            "guest: its GICD_TYPER reads 0x0",
            "verdict: PASS",
            "INFO  verdict: PASS",
            "plain text",
            "unfinished",
        ] {
            assert!(lines.contains(&want), "{want:?} in {lines:?}");
        }
    }
}
