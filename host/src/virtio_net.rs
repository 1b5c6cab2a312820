//! virtio-net's host back end and its command-line spellings: a link over loopback (or
//! any) UDP that needs no privilege, as QEMU's
//! `-netdev socket,id=ID,udp=HOST:PORT,localaddr=HOST:PORT` and
//! `-netdev dgram,id=ID,local.type=inet,local.host=H,local.port=P,remote.type=inet,
//! remote.host=H,remote.port=P` (QEMU 7.2 `net/socket.c`, `net/dgram.c`): each frame is
//! one datagram, no length prefix, so Fief and QEMU share a link. Every other netdev
//! type (user, tap, bridge, stream, socket listen/connect/mcast, ...) is refused with one
//! line.
//!
//! [`UdpNet`] binds the local address (a port in use is an error), sends the guest's
//! frames with `sendto` on the DMA worker serving the transmit queue, and receives on its
//! own thread, never a hart's: a datagram waits in a bounded queue ([`MAX_WAITING`]
//! frames) until the driver has a receive buffer, and the thread kicks the receive queue
//! of the slot the card is plugged into. When the queue is full the thread stops reading,
//! so further frames wait in the host's socket buffer, as QEMU stops polling its socket
//! while the guest cannot receive.

use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Condvar, Mutex};

use fief_boards::virtio::net::{NetBackend, MAX_FRAME, RX};
use fief_boards::virtio::VirtioMmio;

use crate::virtio_host::valid_id;

/// Received frames that wait for the guest before the thread stops reading its socket.
pub const MAX_WAITING: usize = 256;

/// `-netdev socket,udp=...` or `-netdev dgram,...`: a UDP link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetdevSpec {
    /// Its id (what `-device virtio-net-device,netdev=ID` names).
    pub id: String,
    /// The address bound here.
    pub local: SocketAddr,
    /// Where frames go.
    pub remote: SocketAddr,
}

fn resolve(option: &str, what: &str, host: &str, port: &str) -> Result<SocketAddr, String> {
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{option}: {what}: bad port '{port}'"))?;
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.find(SocketAddr::is_ipv4))
        .ok_or_else(|| format!("{option}: {what}: cannot resolve host '{host}'"))
}

fn host_port(option: &str, what: &str, text: &str) -> Result<SocketAddr, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{option}: {what}={text}: say HOST:PORT"))?;
    resolve(option, what, host, port)
}

impl NetdevSpec {
    /// Parses one `-netdev` value.
    pub fn parse(text: &str) -> Result<NetdevSpec, String> {
        let option = "-netdev";
        let mut parts = text.split(',');
        let kind = parts.next().unwrap_or("");
        let mut id = None;
        let (mut local, mut remote) = (None, None);
        match kind {
            "socket" => {
                for part in parts {
                    match part.split_once('=') {
                        Some(("id", v)) if valid_id(v) => id = Some(v.to_string()),
                        Some(("udp", v)) => remote = Some(host_port(option, "udp", v)?),
                        Some(("localaddr", v)) => local = Some(host_port(option, "localaddr", v)?),
                        Some((k @ ("listen" | "connect" | "mcast" | "fd"), _)) => {
                            return Err(format!(
                                "{option} socket,{k}=: not taken (Fief takes socket with \
                                 udp=HOST:PORT,localaddr=HOST:PORT)"
                            ))
                        }
                        _ => {
                            return Err(format!(
                                "{option} socket: '{part}' is not taken (id=, udp=, localaddr=)"
                            ))
                        }
                    }
                }
                if remote.is_none() {
                    return Err(format!(
                        "{option} socket: Fief takes the UDP form only: \
                         socket,id=ID,udp=HOST:PORT,localaddr=HOST:PORT"
                    ));
                }
                if local.is_none() {
                    return Err(format!(
                        "{option} socket,udp=: localaddr=HOST:PORT is needed"
                    ));
                }
            }
            "dgram" => {
                let mut fields: [Option<String>; 6] = Default::default();
                const KEYS: [&str; 6] = [
                    "local.type",
                    "local.host",
                    "local.port",
                    "remote.type",
                    "remote.host",
                    "remote.port",
                ];
                for part in parts {
                    match part.split_once('=') {
                        Some(("id", v)) if valid_id(v) => id = Some(v.to_string()),
                        Some((k, v)) if KEYS.contains(&k) => {
                            let i = KEYS.iter().position(|x| *x == k).unwrap_or(0);
                            fields[i] = Some(v.to_string());
                        }
                        _ => {
                            return Err(format!(
                                "{option} dgram: '{part}' is not taken (id=, local.type=inet, \
                                 local.host=, local.port=, remote.type=inet, remote.host=, \
                                 remote.port=)"
                            ))
                        }
                    }
                }
                let mut addr = |end: &str, at: usize| -> Result<SocketAddr, String> {
                    match fields[at].take().as_deref() {
                        Some("inet") => {}
                        Some(other) => {
                            return Err(format!(
                                "{option} dgram: {end}.type={other}: Fief takes inet only"
                            ))
                        }
                        None => return Err(format!("{option} dgram: {end}.type=inet is needed")),
                    }
                    let host = fields[at + 1]
                        .take()
                        .ok_or_else(|| format!("{option} dgram: {end}.host= is needed"))?;
                    let port = fields[at + 2]
                        .take()
                        .ok_or_else(|| format!("{option} dgram: {end}.port= is needed"))?;
                    resolve(option, end, &host, &port)
                };
                local = Some(addr("local", 0)?);
                remote = Some(addr("remote", 3)?);
            }
            "" => {
                return Err(format!(
                    "{option}: which type? (Fief takes socket and dgram)"
                ))
            }
            other => {
                return Err(format!(
                    "{option} {other}: not taken by Fief (it takes socket,id=ID,udp=HOST:PORT,\
                     localaddr=HOST:PORT and dgram with inet local./remote. addresses)"
                ))
            }
        }
        Ok(NetdevSpec {
            id: id.ok_or_else(|| format!("{option}: missing id=ID"))?,
            local: local.ok_or_else(|| format!("{option}: no local address"))?,
            remote: remote.ok_or_else(|| format!("{option}: no remote address"))?,
        })
    }
}

/// Parses a MAC address `52:54:00:12:34:56`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut n = 0;
    for part in text.split(':') {
        if n == 6 || part.len() != 2 {
            return None;
        }
        mac[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(mac)
}

/// A UDP link (see the [module docs](self)).
pub struct UdpNet {
    socket: UdpSocket,
    remote: SocketAddr,
    waiting: Mutex<VecDeque<Vec<u8>>>,
    room: Condvar,
    slot: Mutex<Option<&'static VirtioMmio<'static>>>,
}

impl UdpNet {
    /// Binds `spec`'s local address (a port in use is an error) and starts the receiving
    /// thread.
    pub fn open(spec: &NetdevSpec) -> Result<&'static UdpNet, String> {
        let socket = UdpSocket::bind(spec.local)
            .map_err(|e| format!("-netdev {}: cannot bind {}: {e}", spec.id, spec.local))?;
        // Links live for the process, as the device models that use them.
        let net: &'static UdpNet = Box::leak(Box::new(UdpNet {
            socket,
            remote: spec.remote,
            waiting: Mutex::new(VecDeque::new()),
            room: Condvar::new(),
            slot: Mutex::new(None),
        }));
        std::thread::Builder::new()
            .name(format!("netdev-{}", spec.id))
            .spawn(move || net.receive_loop())
            .map_err(|e| format!("-netdev {}: cannot start its thread: {e}", spec.id))?;
        Ok(net)
    }

    /// The slot whose receive queue the thread kicks (none while unplugged).
    pub fn attach(&self, slot: Option<&'static VirtioMmio<'static>>) {
        if let Ok(mut s) = self.slot.lock() {
            *s = slot;
        }
        if let Some(slot) = slot {
            slot.kick(RX);
        }
    }

    /// The bound local address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    fn receive_loop(&self) {
        let mut buf = vec![0u8; MAX_FRAME + 1];
        loop {
            // Wait for room: meanwhile frames stay in the host's socket buffer.
            {
                let Ok(mut w) = self.waiting.lock() else {
                    return;
                };
                while w.len() >= MAX_WAITING {
                    w = match self.room.wait(w) {
                        Ok(w) => w,
                        Err(_) => return,
                    };
                }
            }
            let n = match self.socket.recv_from(&mut buf) {
                Ok((n, _)) => n,
                // ICMP port unreachable from an earlier send to a peer not yet there, or
                // an interrupted call: go on, as QEMU does.
                Err(_) => continue,
            };
            if n == 0 || n > MAX_FRAME {
                continue;
            }
            if let Ok(mut w) = self.waiting.lock() {
                w.push_back(buf[..n].to_vec());
            }
            if let Some(slot) = self.slot.lock().ok().and_then(|s| *s) {
                slot.kick(RX);
            }
        }
    }
}

impl NetBackend for UdpNet {
    fn send(&self, frame: &[u8]) -> bool {
        // A peer not listening yet (ECONNREFUSED from an earlier ICMP) loses the frame,
        // as a cable with nobody at the other end.
        self.socket.send_to(frame, self.remote).is_ok()
    }

    fn peek(&self) -> Option<usize> {
        self.waiting.lock().ok()?.front().map(Vec::len)
    }

    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        let frame = self.waiting.lock().ok()?.pop_front()?;
        self.room.notify_one();
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        Some(n)
    }

    fn drop_next(&self) {
        if let Ok(mut w) = self.waiting.lock() {
            w.pop_front();
        }
        self.room.notify_one();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn netdevs_parse_as_qemu_spells_them_and_others_are_refused() {
        let s =
            NetdevSpec::parse("socket,id=n0,udp=127.0.0.1:5000,localaddr=127.0.0.1:5001").unwrap();
        assert_eq!(s.id, "n0");
        assert_eq!(s.remote, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(s.local, "127.0.0.1:5001".parse().unwrap());
        let d = NetdevSpec::parse(
            "dgram,id=n1,remote.type=inet,remote.host=127.0.0.1,remote.port=6000,\
             local.type=inet,local.host=localhost,local.port=6001",
        )
        .unwrap();
        assert_eq!(d.remote, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(d.local, "127.0.0.1:6001".parse().unwrap());
        for (bad, says) in [
            ("user,id=n", "not taken"),
            ("tap,id=n,ifname=tap0", "not taken"),
            ("stream,id=n,addr.type=inet", "not taken"),
            ("socket,id=n,listen=:1234", "listen="),
            ("socket,id=n,connect=127.0.0.1:1234", "connect="),
            ("socket,id=n,udp=127.0.0.1:1", "localaddr"),
            ("socket,udp=127.0.0.1:1,localaddr=127.0.0.1:2", "id="),
            (
                "socket,id=n,udp=127.0.0.1:x,localaddr=127.0.0.1:2",
                "bad port",
            ),
            ("dgram,id=n,local.type=unix,local.path=/x", "not taken"),
            (
                "dgram,id=n,local.type=inet,local.host=127.0.0.1,local.port=1",
                "remote.type",
            ),
            ("", "which type"),
        ] {
            let e = NetdevSpec::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains('\n'), "{bad}: one line");
        }
        assert_eq!(
            parse_mac("52:54:00:12:34:5a"),
            Some([0x52, 0x54, 0, 0x12, 0x34, 0x5a])
        );
        assert_eq!(parse_mac("52:54:00:12:34"), None);
        assert_eq!(parse_mac("52:54:00:12:34:5g"), None);
    }

    #[test]
    fn two_links_exchange_datagrams_and_a_port_in_use_is_refused() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        drop((a, b));
        let sa = NetdevSpec {
            id: "a".into(),
            local: pa,
            remote: pb,
        };
        let sb = NetdevSpec {
            id: "b".into(),
            local: pb,
            remote: pa,
        };
        let (na, nb) = (UdpNet::open(&sa).unwrap(), UdpNet::open(&sb).unwrap());
        let e = UdpNet::open(&sa).map(|_| ()).unwrap_err();
        assert!(e.contains("cannot bind"), "{e}");
        for i in 0..10u8 {
            assert!(na.send(&[i; 60]));
        }
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got.len() < 10 && std::time::Instant::now() < deadline {
            let mut buf = [0u8; 100];
            match nb.recv(&mut buf) {
                Some(n) => got.push(buf[..n].to_vec()),
                None => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        let want: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 60]).collect();
        assert_eq!(got, want, "one datagram per frame, in order");
    }
}
