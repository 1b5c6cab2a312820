//! The virtio console's `-chardev` back ends, as QEMU 7.2 spells them:
//!
//! * `file,id=ID,path=PATH`: output to a file (created or truncated), no input
//!   ([`FileConsole`](crate::virtio_host::FileConsole)).
//! * `socket,id=ID,path=PATH,server=on,wait=off`: a Unix socket server at `PATH`
//!   ([`SocketConsole`]). One client at a time, as QEMU's: what it writes is the console's
//!   input, the console's output goes to it (and is dropped while nobody is connected). An
//!   old socket file at `PATH` is replaced, as QEMU does.
//!
//! Other back ends and options (`stdio`, `pipe`, TCP sockets, `wait=on`, a client socket)
//! are refused with one line.
//!
//! Input waits in a bounded buffer until the driver has a receive buffer for it: the
//! socket's reading thread kicks the console's receive queue
//! ([`VirtioMmio::kick`]) when bytes arrive, and stops reading (the bytes stay in the
//! host's socket buffer) while [`INPUT_MAX`] bytes wait.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use fief_boards::virtio::console::ConsoleBackend;
use fief_boards::virtio::VirtioMmio;

use crate::virtio_host::valid_id;

/// Input bytes that may wait for the driver before the socket is no longer read.
pub const INPUT_MAX: usize = 64 * 1024;
/// The console's receive queue.
const RX: usize = 0;

/// A `-chardev`'s back end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chardev {
    /// `file,path=PATH`.
    File(PathBuf),
    /// `socket,path=PATH,server=on,wait=off`.
    Socket(PathBuf),
}

/// Parses one `-chardev` value: its id and back end.
pub fn parse_chardev(text: &str) -> Result<(String, Chardev), String> {
    let mut parts = text.split(',');
    let backend = parts.next().unwrap_or("");
    match backend {
        "file" | "socket" => {}
        "" => return Err("-chardev: which backend?".to_string()),
        other => {
            return Err(format!(
                "-chardev {other}: not taken (Fief takes file,id=ID,path=PATH and \
                 socket,id=ID,path=PATH,server=on,wait=off)"
            ))
        }
    }
    let (mut id, mut path, mut server, mut wait) = (None, None, None, None);
    for part in parts {
        match (backend, part.split_once('=')) {
            (_, Some(("id", v))) if valid_id(v) => id = Some(v.to_string()),
            (_, Some(("path", v))) if !v.is_empty() => path = Some(PathBuf::from(v)),
            ("socket", Some(("server", v))) => server = Some(on_off(v)?),
            ("socket", Some(("wait", v))) => wait = Some(on_off(v)?),
            ("socket", _) => {
                return Err(format!(
                    "-chardev socket: '{part}' is not taken (id=, path=, server=on, wait=off)"
                ))
            }
            _ => return Err(format!("-chardev file: '{part}' is not taken (id=, path=)")),
        }
    }
    let id = id.ok_or("-chardev: missing id=ID")?;
    let path = path.ok_or_else(|| {
        if backend == "socket" {
            "-chardev socket: Fief takes a Unix socket: path=PATH (no host=/port=)".to_string()
        } else {
            "-chardev: missing path=PATH".to_string()
        }
    })?;
    if backend == "file" {
        return Ok((id, Chardev::File(path)));
    }
    if server != Some(true) || wait != Some(false) {
        return Err(
            "-chardev socket: Fief is the server and does not wait for a client: say \
             server=on,wait=off"
                .to_string(),
        );
    }
    Ok((id, Chardev::Socket(path)))
}

fn on_off(v: &str) -> Result<bool, String> {
    match v {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("-chardev socket: '{v}': say on or off")),
    }
}

/// A console on a Unix socket server (see the [module docs](self)).
pub struct SocketConsole {
    /// The connected client's write half.
    client: Mutex<Option<UnixStream>>,
    input: Mutex<VecDeque<u8>>,
    room: Condvar,
    /// The slot whose receive queue is kicked when input arrives (none while unplugged).
    slot: Mutex<Option<&'static VirtioMmio<'static>>>,
}

impl SocketConsole {
    /// Listens at `path` (an old socket there is replaced) and starts the thread that
    /// accepts clients and reads their input.
    pub fn open(path: &Path) -> Result<&'static SocketConsole, String> {
        use std::os::unix::fs::FileTypeExt;
        let shown = path.display();
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(path);
        }
        let listener = UnixListener::bind(path)
            .map_err(|e| format!("-chardev socket: cannot listen at '{shown}': {e}"))?;
        // The console lives for the process, as the device model that uses it.
        let console: &'static SocketConsole = Box::leak(Box::new(SocketConsole {
            client: Mutex::new(None),
            input: Mutex::new(VecDeque::new()),
            room: Condvar::new(),
            slot: Mutex::new(None),
        }));
        std::thread::Builder::new()
            .name("chardev".to_string())
            .spawn(move || console.accept_loop(listener))
            .map_err(|e| format!("-chardev socket: cannot start its thread: {e}"))?;
        Ok(console)
    }

    /// The slot whose receive queue input kicks (none while unplugged).
    pub fn attach(&self, slot: Option<&'static VirtioMmio<'static>>) {
        if let Ok(mut s) = self.slot.lock() {
            *s = slot;
        }
        if let Some(slot) = slot {
            slot.kick(RX);
        }
    }

    fn accept_loop(&self, listener: UnixListener) {
        for conn in listener.incoming() {
            let Ok(stream) = conn else {
                continue;
            };
            if let (Ok(writer), Ok(mut c)) = (stream.try_clone(), self.client.lock()) {
                *c = Some(writer);
            }
            self.read_loop(stream);
            if let Ok(mut c) = self.client.lock() {
                *c = None;
            }
        }
    }

    /// Reads the client's input until it goes away.
    fn read_loop(&self, mut stream: UnixStream) {
        let mut buf = [0u8; 256];
        loop {
            {
                let Ok(mut input) = self.input.lock() else {
                    return;
                };
                while input.len() >= INPUT_MAX {
                    input = match self.room.wait(input) {
                        Ok(i) => i,
                        Err(_) => return,
                    };
                }
            }
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if let Ok(mut input) = self.input.lock() {
                input.extend(&buf[..n]);
            }
            if let Some(slot) = self.slot.lock().ok().and_then(|s| *s) {
                slot.kick(RX);
            }
        }
    }
}

impl ConsoleBackend for SocketConsole {
    fn write(&self, data: &[u8]) {
        if let Ok(mut c) = self.client.lock() {
            if let Some(stream) = c.as_mut() {
                let _ = stream.write_all(data);
            }
        }
    }

    fn has_input(&self) -> bool {
        self.input.lock().is_ok_and(|i| !i.is_empty())
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        let Ok(mut input) = self.input.lock() else {
            return 0;
        };
        let n = buf.len().min(input.len());
        for (b, x) in buf.iter_mut().zip(input.drain(..n)) {
            *b = x;
        }
        self.room.notify_all();
        n
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chardevs_parse_as_qemu_spells_them() {
        assert_eq!(
            parse_chardev("file,id=c0,path=/tmp/x").unwrap(),
            ("c0".to_string(), Chardev::File("/tmp/x".into()))
        );
        assert_eq!(
            parse_chardev("socket,id=c1,path=/tmp/s,server=on,wait=off").unwrap(),
            ("c1".to_string(), Chardev::Socket("/tmp/s".into()))
        );
        for (bad, says) in [
            ("stdio,id=c", "not taken"),
            ("pipe,id=c,path=p", "not taken"),
            ("socket,id=c,path=/s", "server=on,wait=off"),
            ("socket,id=c,path=/s,server=on", "server=on,wait=off"),
            (
                "socket,id=c,path=/s,server=on,wait=on",
                "server=on,wait=off",
            ),
            (
                "socket,id=c,host=localhost,port=4444,server=on,wait=off",
                "not taken",
            ),
            ("socket,id=c,server=on,wait=off", "Unix socket"),
            ("socket,id=c,path=/s,server=maybe,wait=off", "on or off"),
            ("file,id=c,path=/x,server=on", "not taken"),
            ("file,path=/x", "id="),
        ] {
            let e = parse_chardev(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_client_types_into_the_console_and_reads_its_output() {
        let path = std::env::temp_dir().join(format!("fief-chardev-{}.sock", std::process::id()));
        let console = SocketConsole::open(&path).unwrap();
        let mut client = UnixStream::connect(&path).unwrap();
        client.write_all(b"hello").unwrap();
        let t = std::time::Instant::now();
        while !console.has_input() && t.elapsed() < std::time::Duration::from_secs(20) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let mut buf = [0u8; 3];
        assert_eq!(console.read(&mut buf), 3);
        assert_eq!(&buf, b"hel");
        let mut rest = [0u8; 8];
        assert_eq!(console.read(&mut rest), 2);
        assert_eq!(&rest[..2], b"lo");
        assert!(!console.has_input());
        console.write(b"out");
        let mut got = [0u8; 3];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"out");
        let _ = std::fs::remove_file(&path);
    }
}
