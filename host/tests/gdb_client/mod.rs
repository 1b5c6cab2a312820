//! A minimal GDB remote-protocol client for the gdb stub's tests (`gdb.rs`,
//! `gdb_lifecycle.rs`, `soak.rs`): acknowledged mode over TCP, packets checksummed both ways
//! and replies run-length decoded. No gdb for RISC-V is needed.

// Each test binary that includes this module uses only some of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A GDB remote-protocol client over TCP (acknowledged mode).
pub struct Rsp(pub TcpStream);

impl Rsp {
    /// Connects to the stub at `addr`; a read waits at most `timeout`.
    pub fn connect(addr: &str, timeout: Duration) -> Rsp {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(timeout)).unwrap();
        Rsp(s)
    }

    /// Sends `bytes` as they are (no framing).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).unwrap();
    }

    /// The next byte from the stub.
    pub fn byte(&mut self) -> u8 {
        let mut b = [0u8; 1];
        self.0.read_exact(&mut b).unwrap();
        b[0]
    }

    /// Sends packet `body` and returns the reply ([`Rsp::reply`]).
    pub fn send(&mut self, body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        self.raw(format!("${body}#{sum:02x}").as_bytes());
        self.reply()
    }

    /// The next packet ([`Rsp::packet`]), acknowledged.
    pub fn reply(&mut self) -> String {
        let body = self.packet();
        self.raw(b"+");
        body
    }

    /// The next packet (acknowledgements before it skipped), its checksum checked, run-length
    /// decoded (`X*N` is X followed by N - 29 more copies of it); not acknowledged.
    pub fn packet(&mut self) -> String {
        while self.byte() != b'$' {}
        let mut body = Vec::new();
        loop {
            match self.byte() {
                b'#' => break,
                b => body.push(b),
            }
        }
        let sum = [self.byte(), self.byte()];
        let expected = body.iter().fold(0u8, |a, &b| a.wrapping_add(b));
        assert_eq!(
            std::str::from_utf8(&sum).unwrap(),
            format!("{expected:02x}"),
            "checksum of ${}",
            String::from_utf8_lossy(&body)
        );
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() {
            if body[i] == b'*' && i + 1 < body.len() {
                let last = *out.last().unwrap();
                out.extend(std::iter::repeat_n(last, (body[i + 1] - 29) as usize));
                i += 2;
            } else {
                out.push(body[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
}
