//! DMA leases in the reference-model harness: [`Op::DmaMap`], [`Op::DmaAccess`] and
//! [`Op::DmaUnmap`] on a small [`LeaseTable`] against a model of every lease and of every
//! RAM region's bytes.
//!
//! The model predicts each result: a map at an address nothing answers is `Unassigned`; one
//! that resolves to RAM is direct, pins that region (through any aliases) and reaches at most
//! as far as the RAM stays contiguous there; anything else goes through a bounce buffer
//! (`Busy` when both are taken, `TableFull` when the table is). An access through an
//! unmapped lease is `Stale`, through a lease whose region was destroyed `Revoked`, past its
//! length `OutOfLease`; reads return what the model's bytes hold. An unplug (owner
//! destroyed) is complete exactly when no live lease pins RAM it owned, and the regions
//! awaiting reclaim are exactly the destroyed ones a live lease pins (rule L8).

use fief_core::memory::{
    DmaDirection, DmaError, GuestAddress, LeaseHandle, LeaseTable, MemTxAttrs,
};

use super::{Harness, MKind, Op, UNIT};

/// The harness's lease table: 8 leases, 2 bounce buffers of 64 bytes (small, so that full
/// tables and busy buffers happen).
pub type TestLeases = LeaseTable<8, 2, 64>;
const LEASES: usize = 8;
const BOUNCES: usize = 2;
const BOUNCE_SIZE: u64 = 64;

/// A lease in the model.
#[derive(Debug)]
pub(super) struct MLease {
    handle: LeaseHandle,
    addr: u64,
    len: u64,
    write: bool,
    alive: bool,
    /// Direct: the RAM region (model index) and the offset in it.
    direct: Option<(usize, u64)>,
    /// Bounced: what the buffer holds where known.
    buffer: Vec<Option<u8>>,
}

impl Harness {
    /// Applies a DMA operation (None for the others).
    pub(super) fn apply_dma(&mut self, op: &Op) -> Option<Result<(), String>> {
        Some(match *op {
            Op::DmaMap { addr, len, write } => self.dma_map(addr, len, write),
            Op::DmaAccess {
                lease,
                offset,
                n,
                write,
                seed,
            } => self.dma_access(lease, offset, n, write, seed),
            Op::DmaUnmap { lease } => self.dma_unmap(lease),
            _ => return None,
        })
    }

    /// Who answers at `addr` of the root space in the model (region, offset in it).
    fn who(&self, addr: u64) -> Option<(usize, u64)> {
        addr.checked_sub(self.model.regions[0].addr)
            .and_then(|a| self.model.resolve(0, a))
    }

    fn dma_map(&mut self, addr: u64, len: u64, write: bool) -> Result<(), String> {
        let direction = if write {
            DmaDirection::FromDevice
        } else {
            DmaDirection::ToDevice
        };
        let live = self.model.leases.iter().filter(|l| l.alive).count();
        let bounced_live = self
            .model
            .leases
            .iter()
            .filter(|l| l.alive && l.direct.is_none())
            .count();
        let real = self.leases.map(
            &*self.mem,
            self.space,
            GuestAddress(addr),
            len,
            direction,
            MemTxAttrs::UNSPECIFIED,
        );
        let hit = self.who(addr);
        if self.published {
            match hit {
                None => ensure_eq!(
                    real.map(|_| ()),
                    Err(DmaError::Unassigned {
                        addr: GuestAddress(addr)
                    }),
                    "DmaMap at {addr:#x}"
                ),
                Some((r, offset)) if self.model.regions[r].kind == MKind::Ram => {
                    if live == LEASES {
                        ensure_eq!(real.map(|_| ()), Err(DmaError::TableFull), "DmaMap full");
                    } else {
                        // As far as the same RAM goes on contiguously (the unit is the
                        // granule of every address, size and offset here).
                        let mut reach = UNIT - addr % UNIT;
                        while reach < len && self.who(addr + reach) == Some((r, offset + reach)) {
                            reach += UNIT;
                        }
                        let most = reach.min(len);
                        let Ok(lease) = real else {
                            return Err(format!("DmaMap at {addr:#x} onto RAM: {real:?}"));
                        };
                        ensure_eq!(
                            (lease.bounced, lease.region),
                            (false, Some(self.model.regions[r].handle)),
                            "DmaMap at {addr:#x}: a direct lease of the RAM"
                        );
                        // A flat range may end at any unit boundary before that.
                        if lease.len == 0
                            || lease.len > most
                            || (lease.len < most && !(addr + lease.len).is_multiple_of(UNIT))
                        {
                            return Err(format!(
                                "DmaMap at {addr:#x}, {len} bytes: a lease of {} (RAM goes on for {most})",
                                lease.len
                            ));
                        }
                    }
                }
                Some((r, _)) => {
                    let kind = self.model.regions[r].kind;
                    match real {
                        _ if bounced_live == BOUNCES => {
                            ensure_eq!(real.map(|_| ()), Err(DmaError::Busy), "DmaMap busy")
                        }
                        _ if live == LEASES => {
                            ensure_eq!(real.map(|_| ()), Err(DmaError::TableFull), "DmaMap full")
                        }
                        Ok(lease) => {
                            let most = len.min(BOUNCE_SIZE);
                            if !lease.bounced || lease.region.is_some() || lease.len > most {
                                return Err(format!(
                                    "DmaMap at {addr:#x} onto {kind:?}: {lease:?}"
                                ));
                            }
                        }
                        // Filling the buffer from a reservation may fail on the bus.
                        Err(DmaError::Bus(_)) if kind == MKind::Reservation && !write => {}
                        Err(e) => return Err(format!("DmaMap at {addr:#x} onto {kind:?}: {e:?}")),
                    }
                }
            }
        }
        if let Ok(lease) = real {
            let direct = lease.region.map(|handle| {
                let r = self
                    .model
                    .regions
                    .iter()
                    .position(|n| n.handle == handle)
                    .expect("a lease's region is one the model made");
                let offset = match hit {
                    Some((hr, o)) if hr == r => o,
                    _ => u64::MAX, // unknown (a stale view): never read through
                };
                (r, offset)
            });
            // A read lease's buffer holds what the device read: MMIO answers 0 here.
            let known = !write
                && matches!(
                    hit.map(|(r, _)| self.model.regions[r].kind),
                    Some(MKind::Mmio | MKind::Container { ops: true })
                );
            self.model.leases.push(MLease {
                handle: lease.handle,
                addr,
                len: lease.len,
                write,
                alive: true,
                direct,
                buffer: vec![known.then_some(0); lease.len as usize],
            });
        }
        Ok(())
    }

    fn dma_access(
        &mut self,
        lease: usize,
        offset: u64,
        n: u64,
        write: bool,
        seed: u8,
    ) -> Result<(), String> {
        if self.model.leases.is_empty() {
            return Ok(());
        }
        let l = lease % self.model.leases.len();
        let ml = &self.model.leases[l];
        let offset = offset % (ml.len + UNIT);
        let n = 1 + n % 80;
        let expected = if !ml.alive {
            Err(DmaError::Stale)
        } else if ml.direct.is_some_and(|(r, _)| !self.model.regions[r].alive) {
            Err(DmaError::Revoked)
        } else if offset + n > ml.len {
            Err(DmaError::OutOfLease { len: ml.len })
        } else {
            Ok(())
        };
        let (o, k) = (offset as usize, n as usize);
        if write {
            let data: Vec<u8> = (0..k)
                .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
                .collect();
            let real = self.leases.write(&*self.mem, ml.handle, offset, &data);
            ensure_eq!(real, expected, "DmaAccess write lease {l} at {offset}+{n}");
            if real.is_ok() {
                let ml = &mut self.model.leases[l];
                match ml.direct {
                    Some((r, base)) if base != u64::MAX => {
                        self.model.regions[r].data[base as usize + o..][..k].copy_from_slice(&data);
                    }
                    Some(_) => {}
                    None => {
                        for (slot, b) in ml.buffer[o..o + k].iter_mut().zip(&data) {
                            *slot = Some(*b);
                        }
                    }
                }
            }
        } else {
            let mut got = vec![0u8; k];
            let real = self.leases.read(&*self.mem, ml.handle, offset, &mut got);
            ensure_eq!(real, expected, "DmaAccess read lease {l} at {offset}+{n}");
            if real.is_ok() {
                let want: Vec<Option<u8>> = match ml.direct {
                    Some((r, base)) if base != u64::MAX => self.model.regions[r].data
                        [base as usize + o..][..k]
                        .iter()
                        .map(|b| Some(*b))
                        .collect(),
                    Some(_) => vec![None; k],
                    None => ml.buffer[o..o + k].to_vec(),
                };
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    if let Some(w) = w {
                        ensure_eq!(*g, *w, "DmaAccess read lease {l}: byte {}", o + i);
                    }
                }
            }
        }
        Ok(())
    }

    fn dma_unmap(&mut self, lease: usize) -> Result<(), String> {
        if self.model.leases.is_empty() {
            return Ok(());
        }
        let l = lease % self.model.leases.len();
        let ml = &self.model.leases[l];
        // A bounced write lease writes back the bytes written from its start on, when the
        // model knows where they land: RAM (the model's bytes) or MMIO (ignored).
        let mut done = 0u64;
        let mut lands = Vec::new();
        if ml.alive && ml.write && ml.direct.is_none() && self.published {
            let prefix = ml.buffer.iter().take_while(|b| b.is_some()).count() as u64;
            let mut ok = true;
            for i in 0..prefix {
                match self.who(ml.addr + i) {
                    Some((r, off)) => match self.model.regions[r].kind {
                        MKind::Ram => lands.push((i as usize, Some((r, off as usize)))),
                        MKind::Mmio | MKind::Container { ops: true } => {
                            lands.push((i as usize, None))
                        }
                        _ => ok = false,
                    },
                    None => ok = false,
                }
            }
            if ok {
                done = prefix;
            } else {
                lands.clear();
            }
        }
        let expected = if ml.alive {
            Ok(())
        } else {
            Err(DmaError::Stale)
        };
        let real = self.leases.unmap(&*self.mem, ml.handle, done);
        ensure_eq!(real, expected, "DmaUnmap lease {l} ({done} bytes back)");
        if real.is_ok() {
            for (i, at) in lands {
                if let Some((r, off)) = at {
                    let b = self.model.leases[l].buffer[i].expect("in the written prefix");
                    self.model.regions[r].data[off] = b;
                }
            }
            self.model.leases[l].alive = false;
        }
        Ok(())
    }

    /// [`Harness::check`], then (when the topology published) the unplugs and the regions
    /// awaiting reclaim against the leases.
    pub(super) fn check_all(&mut self) -> Result<(), String> {
        self.published = self.check()?;
        if !self.published {
            return Ok(());
        }
        let m = &self.model;
        let pinned = |r: usize| {
            m.leases
                .iter()
                .any(|l| l.alive && l.direct.is_some_and(|(lr, _)| lr == r))
        };
        let mut g = self.mem.lock();
        for (o, owner) in m.owners.iter().enumerate() {
            if owner.alive {
                continue;
            }
            let waits = (0..m.regions.len()).any(|r| m.regions[r].owner == o && pinned(r));
            ensure_eq!(
                g.unplug_complete(owner.handle),
                !waits,
                "unplug of owner {o} complete"
            );
        }
        // Reclaim is lazy (a commit, an unplug check or `reclaim` runs it), and it stops
        // while released RAM blocks wait to be taken: take them and run it, so that what
        // still waits is what cannot be reclaimed.
        g.reclaim();
        while g.take_released_ram().is_some() {}
        g.reclaim();
        let awaiting = (0..m.regions.len())
            .filter(|&r| !m.regions[r].alive && pinned(r))
            .count();
        ensure_eq!(g.awaiting_reclaim(), awaiting, "regions awaiting reclaim");
        ensure_eq!(
            self.leases.active(),
            m.leases.iter().filter(|l| l.alive).count(),
            "live leases"
        );
        Ok(())
    }
}
