//! Memory topology sequences (create/destroy regions and owners, add/remove subregions,
//! enable/disable, move, priority, alias retarget; every commit) against the naive reference
//! model the rendering proptest uses (`fief_tests::render_model`): every result and the
//! published view at every 16-byte unit must match the model, and after a full teardown the
//! pools hold only the root container and root owner.
#![no_main]

use fief_tests::render_model::{run, NewKind, Op, Pick, UNIT};
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
        Some(match tag % 11 {
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
