//! The monitor's `info` commands: `info mtree`, `info qtree` (the owner tree) and `info
//! pools` (every bounded pool's occupancy).

use std::fmt::Write as _;

use fief_boards::virt::{VirtLeases, HOTPLUG_IRQ_LINES, IRQ_LINES, OWNERS, REGIONS, VIRTIO_SLOTS};
use fief_core::memory::{RegionKind, RegionOffset};
use fief_core::owner::Lifecycle;

use super::Monitor;
use crate::mtree;

fn state_name(state: Lifecycle) -> &'static str {
    match state {
        Lifecycle::Created => "created",
        Lifecycle::Realized => "realized",
        Lifecycle::Unplugging => "unplugging",
    }
}

fn kind_name(kind: RegionKind) -> &'static str {
    match kind {
        RegionKind::Ram => "ram",
        RegionKind::Rom => "rom",
        RegionKind::RomDevice => "rom device",
        RegionKind::Mmio => "i/o",
        RegionKind::Container => "container",
        RegionKind::Alias => "alias",
        RegionKind::Reservation => "reservation",
    }
}

impl Monitor {
    /// `info mtree`.
    pub fn info_mtree(&self) -> String {
        mtree::info_mtree(&self.board.devices.memory, &[self.board.space])
    }

    /// `info qtree`: the owner tree with each owner's regions.
    pub fn info_qtree(&self) -> String {
        let mut out = String::new();
        let g = self.board.devices.memory.lock();
        let Ok(root) = g.root_owner() else {
            return "no root owner\n".to_string();
        };
        let mut stack = vec![(root, 0usize)];
        while let Some((owner, depth)) = stack.pop() {
            let Ok(info) = g.owner_info(owner) else {
                continue;
            };
            let _ = writeln!(
                out,
                "{:indent$}dev: {}, {}",
                "",
                info.name,
                state_name(info.state),
                indent = 2 * depth
            );
            if let Ok(regions) = g.owned_regions(owner) {
                for r in regions {
                    let Ok(ri) = g.region_info(r) else { continue };
                    let at = match ri.mapped {
                        Some((_, RegionOffset(o))) => format!("@{o:#x}"),
                        None => "unmapped".to_string(),
                    };
                    let _ = writeln!(
                        out,
                        "{:indent$}  region: {} ({}, {:#x} bytes, {at})",
                        "",
                        ri.name,
                        kind_name(ri.kind),
                        ri.size.bytes(),
                        indent = 2 * depth
                    );
                }
            }
            if let Ok(children) = g.owner_children(owner) {
                let children: Vec<_> = children.collect();
                for child in children.into_iter().rev() {
                    stack.push((child, depth + 1));
                }
            }
        }
        let _ = writeln!(
            out,
            "owners {}, regions {}, awaiting reclaim {}, DMA leases {}",
            g.owner_count(),
            g.region_count(),
            g.awaiting_reclaim(),
            self.board.devices.leases.active()
        );
        out
    }

    /// `info pools`: one `NAME: USED/CAPACITY` line per bounded pool (`NAME: COUNT` for
    /// what has no fixed bound), for a person and for the soak's end check
    /// (`host/tests/soak.rs`): after every plugged device is gone and no transfer is in
    /// flight, each is back where it was before the first plug.
    pub fn info_pools(&self) -> String {
        let (owners, regions, retired) = {
            let g = self.board.devices.memory.lock();
            (g.owner_count(), g.region_count(), g.awaiting_reclaim())
        };
        let leases = &self.board.devices.leases;
        let sources = self.irq_sources.lock().map(|s| s.len()).unwrap_or(0);
        let (uarts_made, uarts_spare) = self
            .uarts
            .lock()
            .map(|u| (u.made, u.spare.len()))
            .unwrap_or((0, 0));
        let (made, spare) = (self.virtio.models_made(), self.virtio.models_spare());
        format!(
            "owners: {owners}/{OWNERS}\n\
             regions: {regions}/{REGIONS}\n\
             regions awaiting reclaim: {retired}\n\
             DMA leases: {}/{}\n\
             DMA bounce buffers: {}/{}\n\
             IRQ lines: {}/{IRQ_LINES}\n\
             plugged PLIC sources: {sources}/{HOTPLUG_IRQ_LINES}\n\
             virtio slots: {}/{VIRTIO_SLOTS}\n\
             hot-plug RAM mappings: {}\n\
             UART models made: {uarts_made}\n\
             UART models spare: {uarts_spare}\n\
             virtio-net models made: {}\n\
             virtio-net models spare: {}\n\
             virtio console models made: {}\n\
             virtio console models spare: {}\n\
             pending unplugs: {}\n",
            leases.active(),
            VirtLeases::CAPACITY,
            leases.bounce_in_use(),
            VirtLeases::BOUNCE_BUFFERS,
            self.board.devices.wiring.len(),
            self.virtio.list().len(),
            self.ram.mappings(),
            made.nets,
            spare.nets,
            made.consoles,
            spare.consoles,
            self.pending_unplugs(),
        )
    }
}
