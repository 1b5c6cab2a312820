//! What the virtio test rigs share (`virtio.rs`, `virtio_net.rs`): a guest memory with 1 MiB
//! of RAM and one virtio-mmio slot, a lease table for the device's DMA, and the slot's
//! registers and guest memory reached through the bus, every access asserted to succeed.
//! (Each test crate uses part of it.)
#![allow(dead_code)]

use fief_boards::dma::LeaseBus;
use fief_boards::virtio::{Transport, VirtioDevice, VirtioMmio};
use fief_core::memory::{
    AccessSize, AddressSpace, GuestAddress, LeaseTable, MemTxAttrs, MemTxResult, Memory, Priority,
    RamBlock, RegionOffset, RegionSize, SpaceId,
};

pub type Mem = Memory<'static, 16, 8, 1, 32>;
pub type Leases = LeaseTable<16, 2, 64>;

/// Where the slot's registers are.
pub const SLOT: u64 = 0x1000_1000;
/// Where RAM starts.
pub const RAM: u64 = 0x8000_0000;
/// How much RAM there is.
pub const RAM_SIZE: usize = 0x10_0000;

pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// The memory, the slot and the leases; a rig derefs to it.
pub struct SlotBoard {
    pub mem: &'static Mem,
    pub leases: &'static Leases,
    pub space: SpaceId,
    pub slot: &'static VirtioMmio<'static>,
}

impl SlotBoard {
    /// RAM at [`RAM`] and a slot speaking `transport` at [`SLOT`], with `device` plugged.
    pub fn new(transport: Transport, device: Option<&'static dyn VirtioDevice>) -> SlotBoard {
        let mem: &'static Mem = leak(Mem::new());
        let slot: &'static VirtioMmio<'static> = leak(VirtioMmio::new());
        slot.set_transport(transport);
        if let Some(d) = device {
            assert!(slot.plug(d));
        }
        let mut g = mem.lock();
        let root = g.root_owner().unwrap();
        let system = g
            .create_container(root, "system", RegionSize::FULL, None)
            .unwrap();
        let block = RamBlock::new(Box::leak(vec![0u8; RAM_SIZE].into_boxed_slice()));
        let ram = g.create_ram(root, "ram", block).unwrap();
        g.add_subregion(system, RegionOffset(RAM), ram, Priority(0))
            .unwrap();
        let owner = g.create_owner(root, "virtio0").unwrap();
        let mmio = g
            .create_mmio(owner, "virtio0", RegionSize::new(0x1000).unwrap(), slot)
            .unwrap();
        g.add_subregion(system, RegionOffset(SLOT), mmio, Priority(0))
            .unwrap();
        let space = g.create_address_space(system, "memory").unwrap();
        g.realize(owner).unwrap();
        drop(g);
        SlotBoard {
            mem,
            leases: leak(Leases::new()),
            space,
            slot,
        }
    }

    pub fn space(&self) -> AddressSpace<'static, 'static, 32> {
        self.mem.space(self.space).unwrap()
    }

    /// The bus the device masters (through leases).
    pub fn bus(&self) -> LeaseBus<'static, 'static, 16, 8, 1, 32, 16, 2, 64> {
        LeaseBus {
            memory: self.mem,
            space: self.space,
            leases: self.leases,
        }
    }

    /// Reads `size` at the slot's `off`.
    pub fn read(&self, off: u64, size: AccessSize) -> u64 {
        let (v, r) = self
            .space()
            .read(GuestAddress(SLOT + off), size, MemTxAttrs::UNSPECIFIED);
        assert_eq!(r, MemTxResult::OK);
        v
    }

    /// Reads the 32-bit register at `off`.
    pub fn r(&self, off: u64) -> u32 {
        self.read(off, AccessSize::Word) as u32
    }

    /// Writes the 32-bit register at `off`.
    pub fn w(&self, off: u64, v: u32) {
        let r = self.space().write(
            GuestAddress(SLOT + off),
            AccessSize::Word,
            v as u64,
            MemTxAttrs::UNSPECIFIED,
        );
        assert_eq!(r, MemTxResult::OK);
    }

    /// Writes guest memory.
    pub fn poke(&self, addr: u64, data: &[u8]) {
        assert!(self
            .space()
            .write_buf(GuestAddress(addr), data, MemTxAttrs::DEBUG)
            .is_ok());
    }

    /// Reads guest memory.
    pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        assert!(self
            .space()
            .read_buf(GuestAddress(addr), &mut b, MemTxAttrs::DEBUG)
            .is_ok());
        b
    }

    pub fn u16_at(&self, addr: u64) -> u16 {
        u16::from_le_bytes(self.peek(addr, 2).try_into().unwrap())
    }
}
