//! `info mtree`: the region tree and flat views of a memory, in QEMU's monitor format and
//! order (subregions by address, then the higher priority first; aliases as `alias NAME
//! @TARGET START-END`), so that it can be diffed with QEMU's `info mtree`.

use std::fmt::Write as _;

use fief_core::memory::{
    Memory, RegionFlags, RegionHandle, RegionKind, RegionOffset, SpaceId, TopologyGuard,
};

fn kind_name(kind: RegionKind, flags: RegionFlags) -> &'static str {
    match kind {
        RegionKind::Ram if flags.contains(RegionFlags::READONLY) => "rom",
        RegionKind::Ram => "ram",
        RegionKind::Rom => "rom",
        RegionKind::RomDevice if flags.contains(RegionFlags::ROMD) => "romd",
        RegionKind::RomDevice => "rom device",
        RegionKind::Mmio | RegionKind::Container | RegionKind::Alias | RegionKind::Reservation => {
            "i/o"
        }
    }
}

fn tree<const R: usize, const O: usize, const S: usize, const F: usize>(
    out: &mut String,
    g: &TopologyGuard<'_, '_, R, O, S, F>,
    region: RegionHandle,
    base: u128,
    depth: usize,
) {
    let Ok(info) = g.region_info(region) else {
        return;
    };
    let at = base + info.mapped.map_or(0, |(_, RegionOffset(o))| o as u128);
    let last = at + info.size.bytes() - 1;
    let disabled = if info.flags.contains(RegionFlags::ENABLED) {
        ""
    } else {
        " [disabled]"
    };
    let _ = write!(
        out,
        "{:indent$}{:016x}-{:016x} (prio {}, {}): {}{}{}",
        "",
        at.min(u64::MAX as u128),
        last.min(u64::MAX as u128),
        info.priority.0,
        kind_name(info.kind, info.flags),
        if info.kind == RegionKind::Alias {
            "alias "
        } else {
            ""
        },
        info.name,
        disabled,
        indent = 2 + 2 * depth
    );
    if info.kind == RegionKind::Alias {
        match g
            .alias_target(region)
            .and_then(|(t, off)| Ok((g.region_info(t)?, off)))
        {
            Ok((target, off)) => {
                let _ = write!(
                    out,
                    " @{} {:016x}-{:016x}",
                    target.name,
                    off.0,
                    off.0 as u128 + info.size.bytes() - 1
                );
            }
            Err(e) => {
                let _ = write!(out, " @<{e}>");
            }
        }
    }
    out.push('\n');
    if let Ok(children) = g.subregions(region) {
        // QEMU's order (`mtree_print_mr`): by address, then the higher priority first;
        // the sort is stable, so equal ones keep their order.
        let mut children: Vec<_> = children
            .into_iter()
            .map(|child| {
                let (offset, priority) = g.region_info(child).map_or((0, 0), |i| {
                    (i.mapped.map_or(0, |(_, RegionOffset(o))| o), i.priority.0)
                });
                (offset, std::cmp::Reverse(priority), child)
            })
            .collect();
        children.sort_by_key(|&(offset, priority, _)| (offset, priority));
        for (_, _, child) in children {
            tree(out, g, child, at, depth + 1);
        }
    }
}

/// Renders `info mtree` for every address space of `memory`.
pub fn info_mtree<const R: usize, const O: usize, const S: usize, const F: usize>(
    memory: &Memory<'_, R, O, S, F>,
    spaces: &[SpaceId],
) -> String {
    let mut out = String::new();
    let g = memory.lock();
    for &id in spaces {
        let Ok((name, root)) = g.address_space(id) else {
            continue;
        };
        let _ = writeln!(out, "address-space: {name}");
        tree(&mut out, &g, root, 0, 0);
        out.push('\n');
    }
    for &id in spaces {
        let Ok((name, root)) = g.address_space(id) else {
            continue;
        };
        let root_name = g.region_info(root).map(|i| i.name).unwrap_or_default();
        let Some(section) = memory.space(id).and_then(|s| s.section()) else {
            continue;
        };
        let view = section.view();
        // QEMU's `info mtree -f` layout.
        let _ = writeln!(out, "FlatView #{}", id.index());
        let _ = writeln!(out, " AS \"{name}\", root: {root_name}");
        let _ = writeln!(out, " Root memory region: {root_name}");
        for range in view.ranges() {
            let info = g.region_info(range.region());
            let (name, flags) = info.map(|i| (i.name, i.flags)).unwrap_or_default();
            let ro = if range.readonly() && range.kind() == RegionKind::Ram {
                " readonly"
            } else {
                ""
            };
            let _ = write!(
                out,
                "  {:016x}-{:016x} (prio 0, {}{}): {}",
                range.start().0,
                range.last().0,
                kind_name(range.kind(), flags),
                ro,
                name
            );
            // As QEMU: the offset in the region only where it is not 0.
            match range.offset_in_region().0 {
                0 => out.push('\n'),
                offset => {
                    let _ = writeln!(out, " @{offset:016x}");
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use fief_core::memory::{Priority, RamBlock, RegionSize};

    #[test]
    fn subregions_print_by_address_then_higher_priority_first() {
        let (mut a, mut b, mut c) = ([0u8; 16], [0u8; 16], [0u8; 16]);
        let memory: Memory<'_, 8, 2, 1, 8> = Memory::new();
        let space = {
            let mut g = memory.lock();
            let root = g.root_owner().unwrap();
            let sys = g
                .create_container(root, "sys", RegionSize::FULL, None)
                .unwrap();
            // Added out of order: high first, then a low-priority region under one of
            // higher priority at the same address.
            for (name, block, at, prio) in [
                ("high", &mut a, 0x3000, 0),
                ("low-under", &mut b, 0x1000, -1),
                ("top-over", &mut c, 0x1000, 2),
            ] {
                let r = g.create_ram(root, name, RamBlock::new(block)).unwrap();
                g.add_subregion(sys, RegionOffset(at), r, Priority(prio))
                    .unwrap();
            }
            g.create_address_space(sys, "memory").unwrap()
        };
        let out = info_mtree(&memory, &[space]);
        let names: Vec<&str> = out
            .lines()
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split("): ").nth(1))
            .collect();
        assert_eq!(names, ["sys", "top-over", "low-under", "high"], "{out}");
    }
}
