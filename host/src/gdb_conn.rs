//! The gdb stub's connection to its debugger: what a client sends (or fails to send) never
//! ends the run, and a quit never waits for a debugger.
//!
//! * [`Framed`] sits between the TCP stream and the `gdbstub` crate and hands it only whole
//!   packets whose checksum is right. A packet with a wrong or malformed checksum, or longer
//!   than [`MAX_PACKET`], is dropped and answered `-` (a NAK, as QEMU's stub does); bytes
//!   outside packets other than `+`, `-` and Ctrl-C are dropped (the crate would take them
//!   for a protocol error and end the session).
//! * Reads wait at most [`POLL`] at a time and give up (an `Interrupted` error) once the emulator's
//!   quit flag is set, so `Ctrl-A x` and the monitor's `quit` end a run whose debugger is
//!   attached but idle; [`accept`] waits for a debugger (`-S`) the same way.
//! * The framing state (no-ack mode included) is shared by every [`Framed`] made from one
//!   [`Session`], so that the stub can be started again on the same connection after a
//!   packet it could not parse (see `GdbHart::serve`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gdbstub::conn::{Connection, ConnectionExt};

/// The longest packet body taken (below `gdbstub`'s 4096-byte packet buffer).
pub const MAX_PACKET: usize = 4000;
/// How long a read or an accept waits before it looks at the quit flag again.
pub const POLL: Duration = Duration::from_millis(20);

const QUITTING: &str = "the emulator is quitting";

/// Prints `fief: gdb: {text}` on standard error, ignoring a closed stderr (`eprintln!`
/// would panic there).
pub fn note(text: &str) {
    let _ = writeln!(io::stderr(), "fief: gdb: {text}");
}

/// Waits for a debugger on `listener`; `None` once `quit` is set.
pub fn accept(listener: &TcpListener, quit: &AtomicBool) -> Result<Option<TcpStream>, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("gdb: {e}"))?;
    loop {
        if quit.load(Ordering::Acquire) {
            return Ok(None);
        }
        match listener.accept() {
            Ok((conn, _)) => return Ok(Some(conn)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("gdb: {e}")),
        }
    }
}

/// Where the packet parser is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum In {
    /// Between packets.
    Idle,
    /// In a packet's body.
    Body,
    /// At the first checksum digit.
    Sum1,
    /// At the second checksum digit.
    Sum2,
}

struct State {
    /// Bytes checked and ready for `gdbstub`.
    ready: VecDeque<u8>,
    at: In,
    /// The packet being received, `$` to the checksum.
    packet: Vec<u8>,
    sum: u8,
    given: Option<u8>,
    too_long: bool,
    /// The client asked for no-ack mode; it starts with the stub's reply.
    no_ack_asked: bool,
    /// In no-ack mode.
    no_ack: bool,
    /// Where the stub's output is: 0 between packets, 1 in a body, 2..3 in the checksum.
    out: u8,
}

/// One debugger's connection; make a [`Framed`] for each stub started on it.
pub struct Session {
    stream: TcpStream,
    quit: &'static AtomicBool,
    state: Rc<RefCell<State>>,
}

impl Session {
    /// A session on `stream`; reads give up once `quit` is set.
    pub fn new(stream: TcpStream, quit: &'static AtomicBool) -> io::Result<Session> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(POLL))?;
        let _ = stream.set_nodelay(true);
        Ok(Session {
            stream,
            quit,
            state: Rc::new(RefCell::new(State {
                ready: VecDeque::new(),
                at: In::Idle,
                packet: Vec::new(),
                sum: 0,
                given: None,
                too_long: false,
                no_ack_asked: false,
                no_ack: false,
                out: 0,
            })),
        })
    }

    /// A connection for a stub, sharing this session's framing state.
    pub fn framed(&self) -> io::Result<Framed> {
        Ok(Framed {
            stream: self.stream.try_clone()?,
            quit: self.quit,
            state: Rc::clone(&self.state),
        })
    }

    /// Sends the reply packet `body` (with an ack first unless in no-ack mode).
    pub fn reply(&self, body: &str) -> io::Result<()> {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        let ack = if self.state.borrow().no_ack { "" } else { "+" };
        (&self.stream).write_all(format!("{ack}${body}#{sum:02x}").as_bytes())
    }
}

/// The stub's view of a [`Session`] (see the [module docs](self)).
pub struct Framed {
    stream: TcpStream,
    quit: &'static AtomicBool,
    state: Rc<RefCell<State>>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl Framed {
    /// Takes received bytes into the parser; NAKs bad packets.
    fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut nak = 0;
        {
            let mut s = self.state.borrow_mut();
            for &b in bytes {
                match s.at {
                    In::Idle => match b {
                        b'$' => {
                            s.at = In::Body;
                            s.packet.clear();
                            s.packet.push(b);
                            s.sum = 0;
                            s.too_long = false;
                        }
                        b'+' | b'-' | 0x03 => s.ready.push_back(b),
                        _ => {}
                    },
                    In::Body => {
                        if b == b'#' {
                            s.at = In::Sum1;
                        } else {
                            s.sum = s.sum.wrapping_add(b);
                        }
                        if s.packet.len() <= MAX_PACKET {
                            s.packet.push(b);
                        } else {
                            s.too_long = true;
                        }
                    }
                    In::Sum1 => {
                        s.given = hex(b).map(|h| h << 4);
                        s.packet.push(b);
                        s.at = In::Sum2;
                    }
                    In::Sum2 => {
                        s.packet.push(b);
                        s.at = In::Idle;
                        let given = s.given.zip(hex(b)).map(|(hi, lo)| hi | lo);
                        if given == Some(s.sum) && !s.too_long {
                            let packet = std::mem::take(&mut s.packet);
                            if packet.starts_with(b"$QStartNoAckMode#") {
                                s.no_ack_asked = true;
                            }
                            s.ready.extend(&packet);
                            s.packet = packet;
                        } else {
                            nak += 1;
                        }
                    }
                }
            }
        }
        for _ in 0..nak {
            (&self.stream).write_all(b"-")?;
        }
        Ok(())
    }

    /// Reads what the stream has (waiting up to [`POLL`] unless `nonblocking`); `false`
    /// when nothing came.
    fn fill(&mut self, nonblocking: bool) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        if nonblocking {
            self.stream.set_nonblocking(true)?;
        }
        let got = Read::read(&mut self.stream, &mut buf);
        if nonblocking {
            self.stream.set_nonblocking(false)?;
        }
        match got {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the debugger closed the connection",
            )),
            Ok(n) => {
                self.take(&buf[..n])?;
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

impl Connection for Framed {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        self.write_all(&[byte])
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(buf.len());
        {
            let mut s = self.state.borrow_mut();
            for &byte in buf {
                if s.out == 0 && byte == b'+' && s.no_ack {
                    // A stub started again does not know about no-ack mode: drop its acks.
                    continue;
                }
                s.out = next_out(&mut s, byte);
                out.push(byte);
            }
        }
        (&self.stream).write_all(&out)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&self.stream).flush()
    }
}

/// Where the stub's output is after `byte` (see [`State::out`]).
fn next_out(s: &mut State, byte: u8) -> u8 {
    match (s.out, byte) {
        (0, b'$') => {
            s.no_ack |= s.no_ack_asked;
            1
        }
        (0, _) => 0,
        (1, b'#') => 2,
        (1, _) => 1,
        (2, _) => 3,
        _ => 0,
    }
}

impl ConnectionExt for Framed {
    fn read(&mut self) -> io::Result<u8> {
        loop {
            if let Some(b) = self.state.borrow_mut().ready.pop_front() {
                return Ok(b);
            }
            if self.quit.load(Ordering::Acquire) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, QUITTING));
            }
            self.fill(false)?;
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.state.borrow().ready.is_empty() {
            self.fill(true)?;
        }
        Ok(self.state.borrow().ready.front().copied())
    }
}
