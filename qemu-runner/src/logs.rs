//! The demo's defmt logs: decoding the frames it writes on the semihosting
//! console with the format strings of its own ELF (`defmt-decoder`).
//!
//! The hypervisor logs through defmt: each log call becomes a frame of an
//! index into the ELF's `.defmt` table and the arguments, rzCOBS-encoded
//! and ended by a zero byte. [`Logs::from_elf`] reads the table (and, from
//! the DWARF line information, where each log call is); a [`Decoder`] turns
//! the bytes into [`Line`]s as they arrive.
//!
//! A frame that cannot be decoded (bytes from another build of the ELF, a
//! frame cut short, a decoder failure) never stops the run and never
//! touches the guest's UART output: the first is reported in full, later
//! ones are counted and reported once at the end.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

use anyhow::{Context, Result};
use defmt_decoder::{DecodeError, Encoding, Locations, StreamDecoder, Table};

/// How many bytes of an undecodable frame a report shows.
const SHOWN_BYTES: usize = 16;

/// An ELF's defmt table and the source locations of its log calls.
pub struct Logs {
    table: Table,
    locations: Option<Locations>,
}

impl Logs {
    /// Reads the `.defmt` table of `elf`; `Ok(None)` when it has none (a
    /// program that does not log with defmt). An error when the table is
    /// there but unreadable, for example written by a defmt version the
    /// runner's decoder does not know.
    pub fn from_elf(elf: &[u8]) -> Result<Option<Logs>> {
        let Some(table) = Table::parse(elf).context("reading the ELF's defmt table")? else {
            return Ok(None);
        };
        // Without DWARF line information the locations are simply unknown.
        let locations = table.get_locations(elf).ok().filter(|l| !l.is_empty());
        Ok(Some(Logs { table, locations }))
    }

    /// A decoder for one stream of frames from this ELF.
    pub fn decoder(&self) -> Decoder<'_> {
        Decoder {
            logs: self,
            stream: self.table.new_stream_decoder(),
            frame: Vec::new(),
            failures: 0,
            first_failure_reported: false,
        }
    }

    #[cfg(test)]
    fn from_table(table: Table) -> Logs {
        Logs {
            table,
            locations: None,
        }
    }
}

/// One decoded log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`; `None` for `defmt::println!`.
    pub level: Option<&'static str>,
    /// The timestamp, if the firmware defines one.
    pub timestamp: Option<String>,
    /// The formatted message.
    pub message: String,
    /// Where the log call is: `module @ file:line`, when the ELF says.
    pub location: Option<String>,
}

impl Line {
    /// The line as the runner prints it: `INFO  message` (timestamp
    /// first if any), and with `verbose` a second line `└─ module @
    /// file:line`.
    pub fn render(&self, verbose: bool) -> String {
        let mut out = String::new();
        if let Some(t) = &self.timestamp {
            let _ = write!(out, "{t} ");
        }
        if let Some(level) = self.level {
            let _ = write!(out, "{level:<5} ");
        }
        out.push_str(&self.message);
        if let (true, Some(location)) = (verbose, &self.location) {
            let _ = write!(out, "\n└─ {location}");
        }
        out
    }
}

/// What a [`Decoder`] produced from some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A decoded log line.
    Line(Line),
    /// A report of bytes that could not be decoded (one line, for stderr).
    Problem(String),
}

/// Decodes one stream of defmt frames.
pub struct Decoder<'t> {
    logs: &'t Logs,
    stream: Box<dyn StreamDecoder + Send + Sync + 't>,
    /// rzCOBS: the bytes of the frame in progress (up to its zero byte).
    frame: Vec<u8>,
    failures: usize,
    first_failure_reported: bool,
}

impl Decoder<'_> {
    /// Decodes what `bytes` completes; a frame split across calls is
    /// decoded when its end arrives.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        match self.logs.table.encoding() {
            Encoding::Rzcobs => {
                for &byte in bytes {
                    if byte != 0 {
                        self.frame.push(byte);
                    } else if !self.frame.is_empty() {
                        let mut frame = std::mem::take(&mut self.frame);
                        frame.push(0);
                        self.decode_frame(&frame, &mut out);
                    }
                }
            }
            // Raw frames carry no boundaries: decode while whole frames
            // are buffered; after a bad one nothing later can be trusted.
            _ => {
                self.stream.received(bytes);
                loop {
                    match self.next_frame() {
                        Ok(line) => out.push(Output::Line(line)),
                        Err(DecodeError::UnexpectedEof) => break,
                        Err(DecodeError::Malformed) => {
                            self.stream = self.logs.table.new_stream_decoder();
                            self.failed("malformed raw-encoded data", bytes, &mut out);
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// The end of the stream: reports a frame cut short and, if more than
    /// one frame failed, how many did.
    pub fn finish(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if !self.frame.is_empty() {
            let frame = std::mem::take(&mut self.frame);
            self.failures += 1;
            out.push(Output::Problem(format!(
                "the defmt log stream ended inside a frame ({}): that log line is lost",
                describe_bytes(&frame)
            )));
        }
        if self.failures > 1 {
            out.push(Output::Problem(format!(
                "{} defmt frames in all could not be decoded",
                self.failures
            )));
        }
        out
    }

    /// How many frames could not be decoded so far.
    #[cfg(test)]
    fn failures(&self) -> usize {
        self.failures
    }

    /// Decodes one whole rzCOBS frame (with its zero byte).
    fn decode_frame(&mut self, frame: &[u8], out: &mut Vec<Output>) {
        self.stream.received(frame);
        match self.next_frame() {
            Ok(line) => out.push(Output::Line(line)),
            Err(e) => {
                // Start afresh: nothing of this frame may linger.
                self.stream = self.logs.table.new_stream_decoder();
                let why = match e {
                    DecodeError::Malformed => "malformed",
                    DecodeError::UnexpectedEof => "incomplete",
                };
                self.failed(why, frame, out);
            }
        }
    }

    /// The next frame, formatted; a panic in the decoder is a malformed frame.
    fn next_frame(&mut self) -> Result<Line, DecodeError> {
        let locations = self.logs.locations.as_ref();
        let stream = &mut self.stream;
        panic::catch_unwind(AssertUnwindSafe(|| {
            let frame = stream.decode()?;
            Ok(Line {
                level: frame.level().map(|l| match l.as_str() {
                    "error" => "ERROR",
                    "warn" => "WARN",
                    "info" => "INFO",
                    "debug" => "DEBUG",
                    _ => "TRACE",
                }),
                timestamp: frame.display_timestamp().map(|t| t.to_string()),
                message: frame.display_message().to_string(),
                location: locations
                    .and_then(|l| l.get(&frame.index()))
                    .map(|l| format!("{} @ {}:{}", l.module, l.file.display(), l.line)),
            })
        }))
        .unwrap_or(Err(DecodeError::Malformed))
    }

    fn failed(&mut self, why: &str, bytes: &[u8], out: &mut Vec<Output>) {
        self.failures += 1;
        if !self.first_failure_reported {
            self.first_failure_reported = true;
            out.push(Output::Problem(format!(
                "cannot decode a defmt frame ({why}: {}); is the ELF the one that is \
                 running? Later undecodable frames are only counted",
                describe_bytes(bytes)
            )));
        }
    }
}

/// `N bytes: 01 02 ...`, at most [`SHOWN_BYTES`] of them.
fn describe_bytes(bytes: &[u8]) -> String {
    let mut s = format!(
        "{} byte{}:",
        bytes.len(),
        if bytes.len() == 1 { "" } else { "s" }
    );
    for b in bytes.iter().take(SHOWN_BYTES) {
        let _ = write!(s, " {b:02x}");
    }
    if bytes.len() > SHOWN_BYTES {
        s.push_str(" ...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table like the one a firmware's `.defmt` section gives (the
    /// decoder's `Table` is built from its serialized form).
    fn table(encoding: &str) -> Table {
        let json = format!(
            r#"{{
              "timestamp": null,
              "entries": {{
                "1": {{"string": {{"tag": "Info", "string": "received SGI {{=u8}} from CPU {{=u8}}"}}, "raw_symbol": "a"}},
                "2": {{"string": {{"tag": "Warn", "string": "verdict: {{=istr}}"}}, "raw_symbol": "b"}},
                "3": {{"string": {{"tag": "Str", "string": "PASS"}}, "raw_symbol": "c"}},
                "4": {{"string": {{"tag": "Println", "string": "plain {{=u32:#x}}"}}, "raw_symbol": "d"}}
              }},
              "bitflags": {{}},
              "encoding": "{encoding}"
            }}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    /// One frame as defmt's own encoder writes it: the table index (u16 LE)
    /// and the arguments, rzCOBS-encoded, ended by a zero byte.
    fn frame(index: u16, args: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = defmt::Encoder::new();
        enc.start_frame(|b| out.extend_from_slice(b));
        enc.write(&index.to_le_bytes(), |b| out.extend_from_slice(b));
        enc.write(args, |b| out.extend_from_slice(b));
        enc.end_frame(|b| out.extend_from_slice(b));
        out
    }

    fn lines(out: &[Output]) -> Vec<String> {
        out.iter()
            .map(|o| match o {
                Output::Line(l) => l.render(false),
                Output::Problem(p) => format!("problem: {p}"),
            })
            .collect()
    }

    #[test]
    fn frames_decode_to_lines_with_their_level() {
        let logs = Logs::from_table(table("Rzcobs"));
        let mut d = logs.decoder();
        let mut bytes = frame(1, &[3, 0]);
        bytes.extend(frame(2, &3u16.to_le_bytes()));
        bytes.extend(frame(4, &0x2au32.to_le_bytes()));
        assert_eq!(
            lines(&d.feed(&bytes)),
            [
                "INFO  received SGI 3 from CPU 0",
                "WARN  verdict: PASS",
                "plain 0x2a"
            ]
        );
        assert!(d.finish().is_empty());
        assert_eq!(d.failures(), 0);
    }

    #[test]
    fn a_frame_split_across_reads_decodes_when_it_ends() {
        let logs = Logs::from_table(table("Rzcobs"));
        let mut d = logs.decoder();
        let bytes = frame(1, &[3, 0]);
        let mut out = Vec::new();
        for b in &bytes {
            out.extend(d.feed(std::slice::from_ref(b)));
        }
        assert_eq!(lines(&out), ["INFO  received SGI 3 from CPU 0"]);
    }

    #[test]
    fn frames_from_another_elf_are_reported_once_and_decoding_goes_on() {
        let logs = Logs::from_table(table("Rzcobs"));
        let mut d = logs.decoder();
        let mut bytes = frame(99, &[1, 2]); // no entry 99: another ELF's index
        bytes.extend(frame(98, &[]));
        bytes.extend(frame(1, &[3, 0]));
        bytes.extend(frame(97, &[7]));
        let out = d.feed(&bytes);
        let shown = lines(&out);
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("problem: cannot decode a defmt frame (malformed: "),
            "{shown:?}"
        );
        assert!(
            shown[0].contains("is the ELF the one that is running?"),
            "{shown:?}"
        );
        assert_eq!(shown[1], "INFO  received SGI 3 from CPU 0");
        assert_eq!(d.failures(), 3);
        assert_eq!(
            lines(&d.finish()),
            ["problem: 3 defmt frames in all could not be decoded"]
        );
    }

    #[test]
    fn a_truncated_last_frame_is_reported_at_the_end() {
        let logs = Logs::from_table(table("Rzcobs"));
        let mut d = logs.decoder();
        let mut bytes = frame(1, &[3, 0]);
        let whole = frame(2, &3u16.to_le_bytes());
        assert_eq!(whole.last(), Some(&0), "{whole:02x?}");
        let cut = &whole[..whole.len() - 1]; // no zero byte: the rest never came
        bytes.extend_from_slice(cut);
        assert_eq!(lines(&d.feed(&bytes)), ["INFO  received SGI 3 from CPU 0"]);
        let end = lines(&d.finish());
        assert_eq!(end.len(), 1, "{end:?}");
        assert!(end[0].contains("ended inside a frame"), "{end:?}");
        // (The encoder may lead with a zero byte, a separator.)
        let body = cut.iter().filter(|&&b| b != 0).count();
        assert!(end[0].contains(&format!("({body} bytes:")), "{end:?}");
    }

    #[test]
    fn an_argument_naming_a_string_the_table_lacks_is_malformed_not_a_crash() {
        let logs = Logs::from_table(table("Rzcobs"));
        let mut d = logs.decoder();
        let out = lines(&d.feed(&frame(2, &99u16.to_le_bytes()))); // no interned string 99
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("problem: "), "{out:?}");
        assert_eq!(
            lines(&d.feed(&frame(1, &[5, 0]))),
            ["INFO  received SGI 5 from CPU 0"]
        );
    }

    #[test]
    fn garbage_never_panics_and_is_reported_at_most_once_before_the_summary() {
        let logs = Logs::from_table(table("Rzcobs"));
        let mut d = logs.decoder();
        // A deterministic pseudo-random byte soup, zeros included.
        let mut x: u32 = 0x1234_5678;
        let soup: Vec<u8> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x.is_multiple_of(7) {
                    0
                } else {
                    x as u8
                }
            })
            .collect();
        let mut problems = 0;
        for chunk in soup.chunks(61) {
            problems += d
                .feed(chunk)
                .iter()
                .filter(|o| matches!(o, Output::Problem(_)))
                .count();
        }
        assert_eq!(problems, 1);
        assert!(d.failures() > 100);
        let end = d.finish();
        assert!(end.len() <= 2, "{end:?}");
        // Good frames after the garbage still decode.
        assert_eq!(
            lines(&d.feed(&frame(1, &[3, 0]))),
            ["INFO  received SGI 3 from CPU 0"]
        );
    }

    #[test]
    fn raw_encoding_decodes_and_gives_up_on_bad_data_without_looping() {
        let logs = Logs::from_table(table("Raw"));
        let mut d = logs.decoder();
        let mut bytes = vec![1, 0, 3, 0];
        bytes.extend_from_slice(&[4, 0]);
        bytes.extend_from_slice(&0x10u32.to_le_bytes());
        assert_eq!(
            lines(&d.feed(&bytes)),
            ["INFO  received SGI 3 from CPU 0", "plain 0x10"]
        );
        let out = lines(&d.feed(&[0xff, 0xff, 1, 2]));
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("problem: "), "{out:?}");
        assert_eq!(
            lines(&d.feed(&[1, 0, 4, 1])),
            ["INFO  received SGI 4 from CPU 1"]
        );
    }

    #[test]
    fn an_elf_without_a_defmt_section_has_no_logs() {
        // A host executable: an ELF with no `.defmt` section (the test
        // binary itself has one: it links defmt's encoder).
        #[cfg(target_os = "linux")]
        {
            let sh = std::fs::read("/bin/sh").unwrap();
            assert!(Logs::from_elf(&sh).unwrap().is_none());
        }
        assert!(Logs::from_elf(b"not an elf").is_err());
    }

    #[test]
    fn verbose_lines_show_the_location() {
        let line = Line {
            level: Some("INFO"),
            timestamp: None,
            message: "verdict: PASS".into(),
            location: Some("hypervisor_demo @ src/main.rs:120".into()),
        };
        assert_eq!(line.render(false), "INFO  verdict: PASS");
        assert_eq!(
            line.render(true),
            "INFO  verdict: PASS\n└─ hypervisor_demo @ src/main.rs:120"
        );
    }
}
