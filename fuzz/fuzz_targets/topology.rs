//! Memory topology sequences (create/destroy regions and owners, add/remove subregions,
//! enable/disable, move, priority, alias retarget; every commit) and DMA leases (map,
//! read/write, unmap, with unplugs that must wait for the leases pinning their RAM) against
//! the naive reference model the rendering proptest uses (`fief_tests::render_model`):
//! every result, the published view at every 16-byte unit, the bytes read through leases,
//! unplug completion and the regions awaiting reclaim must match the model, and after a
//! full teardown the pools hold only the root container and root owner, with no lease and
//! no bounce buffer in use.
#![no_main]

use fief_tests::render_model::{run, NewKind, Op, Pick, ROOT_SIZE, UNIT};
use libfuzzer_sys::fuzz_target;

/// Reads the input as operations, a few bytes each.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn pick(&mut self) -> Option<Pick> {
        let b = self.byte()?;
        Some(Pick {
            raw: (b & 0x7f) as usize,
            sensible: b & 0x80 == 0,
        })
    }
    fn op(&mut self) -> Option<Op> {
        let tag = self.byte()?;
        let prio = |b: u8| (b % 3) as i32 - 1;
        Some(match tag % 14 {
            0..=2 => {
                let owner = self.byte()? as usize;
                let k = self.byte()?;
                let kind = match k % 5 {
                    0 => NewKind::Ram,
                    1 => NewKind::Mmio,
                    2 => NewKind::Container { ops: k & 8 != 0 },
                    3 => NewKind::Reservation,
                    _ => NewKind::Alias {
                        target: self.pick()?,
                        offset: (self.byte()? % 16) as u64 * UNIT,
                    },
                };
                let units = 1 + (self.byte()? % 32) as u64;
                Op::Create { owner, kind, units }
            }
            3 => Op::CreateOwner {
                parent: self.byte()? as usize,
            },
            4 | 5 => Op::Add {
                container: self.pick()?,
                sub: self.pick()?,
                units: (self.byte()? % 48) as u64,
                priority: prio(self.byte()?),
            },
            6 => Op::Remove {
                sub: self.pick()?,
                wrong: self.byte()? & 1 != 0,
            },
            7 => Op::SetEnabled {
                region: self.pick()?,
                enabled: self.byte()? % 4 != 0,
            },
            8 => Op::SetAddress {
                region: self.pick()?,
                units: (self.byte()? % 48) as u64,
            },
            9 => Op::Retarget {
                alias: self.pick()?,
                target: self.pick()?,
                offset: (self.byte()? % 16) as u64 * UNIT,
            },
            11 => {
                let at = self.byte()? as u64;
                let len = self.byte()? as u64;
                Op::DmaMap {
                    // A unit (or just past the root), a byte in it.
                    addr: (at % (ROOT_SIZE / UNIT + 2)) * UNIT + (len >> 4) % UNIT,
                    len: 1 + len % 200,
                    write: at & 0x80 != 0,
                }
            }
            12 => {
                let lease = self.byte()? as usize;
                let offset = self.byte()? as u64;
                let n = self.byte()? as u64;
                Op::DmaAccess {
                    lease: lease & 0x7f,
                    offset,
                    n,
                    write: lease & 0x80 != 0,
                    seed: self.byte()?,
                }
            }
            13 => Op::DmaUnmap {
                lease: self.byte()? as usize,
            },
            _ => match self.byte()? % 3 {
                0 => Op::SetPriority {
                    region: self.pick()?,
                    priority: prio(self.byte()?),
                },
                1 => Op::DestroyRegion {
                    region: self.pick()?,
                },
                _ => Op::DestroyOwner {
                    owner: self.byte()? as usize,
                },
            },
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let mut ops = Vec::new();
    while ops.len() < 64 {
        match input.op() {
            Some(op) => ops.push(op),
            None => break,
        }
    }
    if let Err(e) = run(&ops) {
        panic!("Memory and the reference model disagree: {e}\nops: {ops:#?}");
    }
});
