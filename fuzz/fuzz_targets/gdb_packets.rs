//! The gdb stub's packet framing (`fief_host::gdb_conn`): whatever a client sends, the stub
//! is handed only `+`, `-`, Ctrl-C and whole packets `$body#xx` whose checksum is right and
//! whose body is at most `MAX_PACKET` bytes, and the end of the client's stream ends the
//! session with an error (never a panic or a hang).
#![no_main]

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use fief_host::gdb_conn::{Session, MAX_PACKET};
use gdbstub::conn::ConnectionExt;
use libfuzzer_sys::fuzz_target;

fn listener() -> &'static TcpListener {
    static L: OnceLock<TcpListener> = OnceLock::new();
    L.get_or_init(|| TcpListener::bind("127.0.0.1:0").expect("bind"))
}

static QUIT: AtomicBool = AtomicBool::new(false);

/// Checks that `out` is a sequence of acks, Ctrl-C and well-formed packets.
fn check(out: &[u8]) {
    let mut k = 0;
    while k < out.len() {
        match out[k] {
            b'+' | b'-' | 0x03 => k += 1,
            b'$' => {
                let hash = out[k..]
                    .iter()
                    .position(|&b| b == b'#')
                    .map(|p| k + p)
                    .expect("a packet without '#'");
                let body = &out[k + 1..hash];
                assert!(body.len() <= MAX_PACKET, "a packet of {} bytes", body.len());
                let sum = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
                let given = std::str::from_utf8(&out[hash + 1..hash + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                assert_eq!(given, Some(sum), "a packet with a bad checksum");
                k = hash + 3;
            }
            b => panic!("stray byte {b:#x} handed to the stub"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let l = listener();
    let mut client = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    let (server, _) = l.accept().expect("accept");
    let session = Session::new(server, &QUIT).expect("session");
    let mut framed = session.framed().expect("framed");
    client.write_all(data).expect("send");
    client.shutdown(Shutdown::Write).expect("shutdown");
    let mut out = Vec::new();
    while let Ok(b) = framed.read() {
        out.push(b);
        assert!(
            out.len() <= data.len(),
            "the stub got more bytes than were sent"
        );
    }
    check(&out);
});
