//! Lines of bounded length from a byte stream, for the monitor's socket: a line longer
//! than [`MAX_LINE`] bytes is reported ([`Line::TooLong`]) as soon as it passes the bound,
//! and its rest is skipped up to the next newline without being buffered, so a client that
//! never sends a newline cannot grow the process.

use std::io::{self, BufRead};

/// The longest line taken, in bytes (without its newline).
pub const MAX_LINE: usize = 4096;

/// The monitor's reply to an over-long line.
pub const TOO_LONG: &str = "Error: line too long (over 4096 bytes): discarded\n";

/// One line read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line (without its `\n` or `\r\n`; invalid UTF-8 replaced).
    Text(String),
    /// A line passed [`MAX_LINE`]; what is left of it is skipped.
    TooLong,
}

/// Reads [`Line`]s from `R` (see the [module docs](self)).
pub struct BoundedLines<R> {
    reader: R,
    buf: Vec<u8>,
    skipping: bool,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `reader`.
    pub fn new(reader: R) -> Self {
        BoundedLines {
            reader,
            buf: Vec::new(),
            skipping: false,
        }
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if self.skipping || self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.text()));
            }
            match avail.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let over = !self.skipping && self.buf.len() + i > MAX_LINE;
                    if !self.skipping && !over {
                        self.buf.extend_from_slice(&avail[..i]);
                    }
                    self.reader.consume(i + 1);
                    if over {
                        self.buf.clear();
                        return Ok(Some(Line::TooLong));
                    }
                    if self.skipping {
                        self.skipping = false;
                        continue;
                    }
                    return Ok(Some(self.text()));
                }
                None => {
                    let n = avail.len();
                    if !self.skipping {
                        if self.buf.len() + n > MAX_LINE {
                            self.reader.consume(n);
                            self.buf = Vec::new();
                            self.skipping = true;
                            return Ok(Some(Line::TooLong));
                        }
                        self.buf.extend_from_slice(avail);
                    }
                    self.reader.consume(n);
                }
            }
        }
    }

    fn text(&mut self) -> Line {
        let mut bytes = std::mem::take(&mut self.buf);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Line::Text(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    #[test]
    fn over_long_lines_are_reported_at_once_and_skipped_unbuffered() {
        let flood = io::repeat(b'x').take(4 << 20);
        let rest: &[u8] = b"\ninfo qtree\r\nlast";
        let mut lines = BoundedLines::new(BufReader::new(flood.chain(rest)));
        assert_eq!(lines.next_line().unwrap(), Some(Line::TooLong));
        assert!(lines.buf.capacity() <= MAX_LINE + 8192, "nothing buffered");
        assert_eq!(
            lines.next_line().unwrap(),
            Some(Line::Text("info qtree".into()))
        );
        assert_eq!(lines.next_line().unwrap(), Some(Line::Text("last".into())));
        assert_eq!(lines.next_line().unwrap(), None);
        // At the bound exactly: taken; one past it: too long, even with the newline in the
        // same read.
        let exact = format!(
            "{}\n{}\nok\n",
            "a".repeat(MAX_LINE),
            "b".repeat(MAX_LINE + 1)
        );
        let mut lines = BoundedLines::new(exact.as_bytes());
        assert_eq!(
            lines.next_line().unwrap(),
            Some(Line::Text("a".repeat(MAX_LINE)))
        );
        assert_eq!(lines.next_line().unwrap(), Some(Line::TooLong));
        assert_eq!(lines.next_line().unwrap(), Some(Line::Text("ok".into())));
    }
}
