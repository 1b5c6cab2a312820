//! The bundled demo: a `virt32`-shaped memory map on the core's memory API, exercised the way
//! a board will use it — boot ROM copied to RAM, a console device, a test finisher, an alias,
//! and a hot-unplug of the console while a reader still holds the old view.
//!
//! The RISC-V hart and the real `virt32` board come with their own issues; until then this
//! is what `fief` runs by default.

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use fief_core::memory::{
    AccessSize, GuestAddress, MemTxAttrs, MemTxResult, Memory, MmioOps, Priority, RamBlock,
    RegionOffset, RegionSize, SpaceId,
};

/// The demo's memory: 64 regions, 16 owners, 1 address space, 128 flat ranges.
pub type DemoMemory = Memory<'static, 64, 16, 1, 128>;

/// A transmit-only console: bytes written to register 0 go to the host's stdout.
pub struct Console {
    sent: Mutex<Vec<u8>>,
}

impl MmioOps for Console {
    fn read(
        &self,
        _offset: RegionOffset,
        _size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        // Line status: transmitter empty.
        (0x60, MemTxResult::OK)
    }

    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        _size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> MemTxResult {
        if offset.0 == 0 {
            if let Ok(mut sent) = self.sent.lock() {
                sent.push(value as u8);
            }
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(&[value as u8]);
            let _ = stdout.flush();
        }
        MemTxResult::OK
    }
}

/// SiFive-style test finisher: `0x5555` passes, `code << 16 | 0x3333` fails with `code`.
pub struct Finisher {
    /// 0 while running, then `1 + exit code`.
    pub status: AtomicU32,
}

impl MmioOps for Finisher {
    fn read(
        &self,
        _offset: RegionOffset,
        _size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        (0, MemTxResult::OK)
    }

    fn write(
        &self,
        _offset: RegionOffset,
        value: u64,
        _size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> MemTxResult {
        let code = match value & 0xffff {
            0x5555 => 0,
            0x3333 => ((value >> 16) & 0xffff) as u32,
            _ => return MemTxResult::OK,
        };
        self.status.store(code + 1, Ordering::SeqCst);
        MemTxResult::OK
    }
}

const BANNER: &[u8] = b"Fief demo: boot ROM -> RAM -> console through the memory API\n";

fn size(bytes: u64) -> RegionSize {
    RegionSize::new(bytes).unwrap_or(RegionSize::FULL)
}

fn leak_block(len: usize) -> RamBlock<'static> {
    RamBlock::new(Box::leak(vec![0u8; len].into_boxed_slice()))
}

/// What the demo found, for the caller to print and turn into an exit status.
pub struct Outcome {
    /// The finisher's exit code.
    pub exit_code: u32,
    /// `info mtree` before the unplug.
    pub mtree: String,
    /// Regions freed once the old reader let go.
    pub reclaimed_after_reader: usize,
}

/// Builds the map and runs the demo. Errors are the memory API's, as text.
pub fn run() -> Result<Outcome, String> {
    let memory: &'static DemoMemory = Box::leak(Box::new(DemoMemory::new()));
    let console: &'static Console = Box::leak(Box::new(Console {
        sent: Mutex::new(Vec::new()),
    }));
    let finisher: &'static Finisher = Box::leak(Box::new(Finisher {
        status: AtomicU32::new(0),
    }));
    let e = |e: fief_core::memory::Error| e.to_string();

    let mut g = memory.lock();
    let machine = g.root_owner().map_err(e)?;
    g.begin();
    let system = g
        .create_container(machine, "system", RegionSize::FULL, None)
        .map_err(e)?;
    let ram = g
        .create_ram(machine, "ram", leak_block(1 << 20))
        .map_err(|r| e(r.error))?;
    let rom = g
        .create_rom(machine, "boot-rom", leak_block(0x1000))
        .map_err(|r| e(r.error))?;
    let uart_dev = g.create_owner(machine, "uart0").map_err(e)?;
    let uart = g
        .create_mmio(uart_dev, "uart0-regs", size(0x100), console)
        .map_err(e)?;
    let test_dev = g.create_owner(machine, "test").map_err(e)?;
    let test = g
        .create_mmio(test_dev, "test-finisher", size(0x1000), finisher)
        .map_err(e)?;
    let rom_alias = g
        .create_alias(
            machine,
            "boot-rom-mirror",
            size(0x1000),
            rom,
            RegionOffset(0),
        )
        .map_err(e)?;
    g.add_subregion(system, RegionOffset(0x1000), rom, Priority(0))
        .map_err(e)?;
    g.add_subregion(system, RegionOffset(0x10_0000), test, Priority(0))
        .map_err(e)?;
    g.add_subregion(system, RegionOffset(0x1000_0000), uart, Priority(0))
        .map_err(e)?;
    g.add_subregion(system, RegionOffset(0x2000_0000), rom_alias, Priority(0))
        .map_err(e)?;
    g.add_subregion(system, RegionOffset(0x8000_0000), ram, Priority(0))
        .map_err(e)?;
    g.realize(uart_dev).map_err(e)?;
    g.realize(test_dev).map_err(e)?;
    let space: SpaceId = g.create_address_space(system, "memory").map_err(e)?;
    g.commit().map_err(e)?;
    drop(g);

    let bus = memory.space(space).ok_or("address space missing")?;
    // "Flash" the boot ROM with a debug write, as a loader does.
    let r = bus.write_buf(GuestAddress(0x1000), BANNER, MemTxAttrs::DEBUG);
    if !r.is_ok() {
        return Err(format!("loading the boot ROM failed: {r}"));
    }
    // Copy ROM (read through its mirror alias) to RAM, then RAM to the console.
    let mut buf = [0u8; BANNER.len()];
    let r = bus.read_buf(GuestAddress(0x2000_0000), &mut buf, MemTxAttrs::UNSPECIFIED)
        | bus.write_buf(GuestAddress(0x8000_0000), &buf, MemTxAttrs::UNSPECIFIED);
    if !r.is_ok() {
        return Err(format!("copy failed: {r}"));
    }
    let section = bus.section().ok_or("no view")?;
    for i in 0..BANNER.len() as u64 {
        let (byte, r1) = section.read(
            GuestAddress(0x8000_0000 + i),
            AccessSize::Byte,
            MemTxAttrs::UNSPECIFIED,
        );
        let r2 = section.write(
            GuestAddress(0x1000_0000),
            AccessSize::Byte,
            byte,
            MemTxAttrs::UNSPECIFIED,
        );
        if !(r1 | r2).is_ok() {
            return Err(format!("console write failed: {}", r1 | r2));
        }
    }
    let mtree = crate::mtree::info_mtree(memory, &[space]);

    // Hot-unplug the console while `section` (an in-flight reader) still holds the old view.
    let mut g = memory.lock();
    g.destroy_owner(uart_dev).map_err(e)?;
    let waiting = g.awaiting_reclaim();
    drop(g);
    let old = section.write(
        GuestAddress(0x1000_0000),
        AccessSize::Byte,
        b'\n' as u64,
        MemTxAttrs::UNSPECIFIED,
    );
    let new = bus.write(
        GuestAddress(0x1000_0000),
        AccessSize::Byte,
        0,
        MemTxAttrs::UNSPECIFIED,
    );
    drop(section);
    let reclaimed = memory.lock().reclaim();
    println!(
        "unplugged uart0: the old view still reaches it ({old}), the new view answers {new}; \
         {waiting} region(s) waited for the reader, {reclaimed} reclaimed after it"
    );

    let r = bus.write(
        GuestAddress(0x10_0000),
        AccessSize::Word,
        0x5555,
        MemTxAttrs::UNSPECIFIED,
    );
    let status = finisher.status.load(Ordering::SeqCst);
    if !r.is_ok() || status == 0 {
        return Err("the finisher was not reached".into());
    }
    Ok(Outcome {
        exit_code: status - 1,
        mtree,
        reclaimed_after_reader: reclaimed,
    })
}
