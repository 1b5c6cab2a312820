//! The host side of Fief as a library: what the `fief` runner, its tests and the benchmarks
//! share.
//!
//! * [`dma_workers`]: the DMA worker threads that run a DMA engine's transfers beside the
//!   hart threads.
//! * [`gdb_conn`]: the gdb stub's connection: whole packets with a good checksum only, reads
//!   that give up when the emulator quits (in the library so that `fuzz/` can reach it).
//! * [`hotplug_ram`]: host memory behind `device_add ram`, unmapped once an unplug is
//!   complete.
//! * [`images`]: reading guest image files with their sizes checked before reading.
//! * [`jit`]: the translating tier (`-accel tcg`): guest blocks compiled to x86-64 code,
//!   its bounded W^X code cache.
//! * [`mod@line`]: lines of bounded length from a byte stream (the monitor's socket).
//! * [`monitor`]: the QEMU-style monitor (`info mtree`, `info qtree`, `device_add`,
//!   `device_del`) reachable while the guest runs.
//! * [`mtree`]: `info mtree`'s rendering.
//! * [`virtio_host`]: the virtio devices' host back ends (raw image files, the host's
//!   entropy) and their command-line spellings.
//! * [`virtio_net`]: virtio-net's host back end, a UDP link (`-netdev socket,udp=` and
//!   `-netdev dgram`), and its spellings.
//! * [`virtio_plug`]: plugging and unplugging virtio devices in the board's slots.

pub mod chardev;
pub mod dma_workers;
pub mod gdb_conn;
pub mod hotplug_ram;
pub mod images;
pub mod jit;
pub mod line;
pub mod monitor;
pub mod mtree;
pub mod virtio_host;
pub mod virtio_net;
pub mod virtio_plug;
