//! Interrupt lines and their wiring, heap-free.
//!
//! A device holds its outputs as [`IrqLine`]s (fields of the device, so they live as long
//! as it does). A line is *connected* to one input of an [`IrqSink`]: a source of an
//! interrupt controller (the PLIC implements `IrqSink`, input = source number) or a bit of a
//! hart's `mip` ([`HartIrqs`] implements `IrqSink`, input = the `irq` bit number). The
//! device sets the line's level; the line forwards level changes to its sink.
//!
//! What this module enforces (rule L4, "its IRQ lines are disconnected"): every line is
//! registered with its owner in an [`IrqWiring`] table of fixed capacity (rule L1: a full
//! table is [`IrqError::PoolFull`], never an allocation). After an owner is destroyed,
//! [`IrqWiring::disconnect_dead`] disconnects every line whose owner is stale or unplugging
//! (children included, since `destroy_owner` destroys them with their parent). A line that is
//! disconnected while high first lowers its sink's input, so a controller never keeps a
//! pending interrupt from a device that no longer exists; later level changes go nowhere.
//!
//! Levels are plain atomics; the connection is behind a short [`crate::lock::Mutex`], so lines
//! work from any thread (a UART fed by a console thread, a CLINT updated by a timer thread).

use crate::atomic::{AtomicBool, Ordering};
use core::fmt;

use crate::cpu::riscv::HartIrqs;
use crate::memory::{Error, TopologyGuard};
use crate::owner::{Lifecycle, OwnerHandle};

/// Something that takes interrupt inputs: an interrupt controller or a hart.
pub trait IrqSink: Sync {
    /// Input `input` is now at `level` (level-triggered: called on every change).
    fn set_irq(&self, input: u32, level: bool);
}

impl IrqSink for HartIrqs {
    /// `input` is a `mip` bit number ([`irq`](crate::cpu::riscv::irq)).
    fn set_irq(&self, input: u32, level: bool) {
        self.set(input, level);
    }
}

/// Why a wiring operation was refused.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    /// The wiring table is full (rule L1).
    PoolFull,
    /// The line is already registered.
    AlreadyRegistered,
    /// The owner is dead or being unplugged.
    Owner(Error),
}

impl fmt::Display for IrqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrqError::PoolFull => f.write_str("no free IRQ line slot: the wiring table is full"),
            IrqError::AlreadyRegistered => f.write_str("the IRQ line is already registered"),
            IrqError::Owner(e) => write!(f, "IRQ line owner: {e}"),
        }
    }
}

impl core::error::Error for IrqError {}

#[derive(Clone, Copy)]
struct Connection<'a> {
    sink: &'a dyn IrqSink,
    input: u32,
}

/// One interrupt output of a device (see the [module docs](self)).
pub struct IrqLine<'a> {
    level: AtomicBool,
    connection: crate::lock::Mutex<Option<Connection<'a>>>,
}

impl Default for IrqLine<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for IrqLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IrqLine")
            .field("level", &self.level())
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl<'a> IrqLine<'a> {
    /// A low, unconnected line. `const`, so devices holding lines can be `static`.
    pub const fn new() -> IrqLine<'a> {
        IrqLine {
            level: AtomicBool::new(false),
            connection: crate::lock::Mutex::new(None),
        }
    }

    /// Connects the line to `input` of `sink` (replacing any earlier connection, whose
    /// input is lowered first if the line is high) and passes the current level on.
    pub fn connect(&self, sink: &'a dyn IrqSink, input: u32) {
        let mut c = self.connection.lock();
        let level = self.level.load(Ordering::Acquire);
        if let Some(old) = c.take() {
            if level {
                old.sink.set_irq(old.input, false);
            }
        }
        *c = Some(Connection { sink, input });
        if level {
            sink.set_irq(input, true);
        }
    }

    /// Disconnects the line; if it was high, its sink's input is lowered first.
    pub fn disconnect(&self) {
        let mut c = self.connection.lock();
        if let Some(old) = c.take() {
            if self.level.load(Ordering::Acquire) {
                old.sink.set_irq(old.input, false);
            }
        }
    }

    /// True while connected.
    pub fn is_connected(&self) -> bool {
        self.connection.lock().is_some()
    }

    /// The line's current level.
    pub fn level(&self) -> bool {
        self.level.load(Ordering::Acquire)
    }

    /// Sets the level; the sink hears about changes only.
    pub fn set(&self, level: bool) {
        // The lock orders level changes with (dis)connection, so a sink never misses the
        // last change nor hears one after a disconnect.
        let c = self.connection.lock();
        if self.level.swap(level, Ordering::AcqRel) != level {
            if let Some(conn) = *c {
                conn.sink.set_irq(conn.input, level);
            }
        }
    }

    /// Raises the line.
    pub fn raise(&self) {
        self.set(true)
    }

    /// Lowers the line.
    pub fn lower(&self) {
        self.set(false)
    }
}

/// The table of registered lines and their owners: up to `N` lines (rule L1).
pub struct IrqWiring<'a, const N: usize> {
    lines: crate::lock::Mutex<heapless::Vec<(&'a IrqLine<'a>, OwnerHandle), N>>,
}

impl<const N: usize> Default for IrqWiring<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const N: usize> IrqWiring<'a, N> {
    /// An empty table. `const`.
    pub const fn new() -> Self {
        IrqWiring {
            lines: crate::lock::Mutex::new(heapless::Vec::new()),
        }
    }

    /// Registers `line` as owned by `owner` and connects it to `input` of `sink`.
    pub fn connect(
        &self,
        owner: OwnerHandle,
        line: &'a IrqLine<'a>,
        sink: &'a dyn IrqSink,
        input: u32,
    ) -> Result<(), IrqError> {
        let mut lines = self.lines.lock();
        if lines.iter().any(|(l, _)| core::ptr::eq(*l, line)) {
            return Err(IrqError::AlreadyRegistered);
        }
        lines.push((line, owner)).map_err(|_| IrqError::PoolFull)?;
        line.connect(sink, input);
        Ok(())
    }

    /// Like [`IrqWiring::connect`], after checking that `owner` is alive in `g`'s topology.
    pub fn connect_checked<const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        g: &TopologyGuard<'_, '_, R, O, S, F>,
        owner: OwnerHandle,
        line: &'a IrqLine<'a>,
        sink: &'a dyn IrqSink,
        input: u32,
    ) -> Result<(), IrqError> {
        let info = g.owner_info(owner).map_err(IrqError::Owner)?;
        if info.state == Lifecycle::Unplugging {
            return Err(IrqError::Owner(Error::OwnerUnplugging));
        }
        self.connect(owner, line, sink, input)
    }

    /// Disconnects and forgets every line owned by `owner`; returns how many.
    pub fn disconnect_owner(&self, owner: OwnerHandle) -> usize {
        self.disconnect_where(|o| o == owner)
    }

    /// Disconnects and forgets every line whose owner is destroyed or being unplugged in
    /// `g`'s topology (rule L4); returns how many. Call it after `destroy_owner`.
    pub fn disconnect_dead<const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        g: &TopologyGuard<'_, '_, R, O, S, F>,
    ) -> usize {
        self.disconnect_where(|o| match g.owner_info(o) {
            Ok(info) => info.state == Lifecycle::Unplugging,
            Err(_) => true,
        })
    }

    fn disconnect_where(&self, mut dead: impl FnMut(OwnerHandle) -> bool) -> usize {
        let mut lines = self.lines.lock();
        let mut count = 0;
        let mut i = 0;
        while i < lines.len() {
            if dead(lines[i].1) {
                fief_debug!(
                    "irq: disconnecting a line of dead owner {}",
                    lines[i].1.to_raw()
                );
                lines[i].0.disconnect();
                lines.swap_remove(i);
                count += 1;
            } else {
                i += 1;
            }
        }
        count
    }

    /// Lines registered.
    pub fn len(&self) -> usize {
        self.lines.lock().len()
    }

    /// True if no line is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cpu::riscv::irq;
    use crate::memory::{Memory, Object};

    #[test]
    fn line_forwards_changes_and_lowers_on_disconnect() {
        let hart = HartIrqs::new();
        let line = IrqLine::new();
        line.raise();
        line.connect(&hart, irq::MEI);
        assert_eq!(hart.pending(), 1 << irq::MEI);
        line.lower();
        assert_eq!(hart.pending(), 0);
        line.raise();
        line.disconnect();
        assert_eq!(hart.pending(), 0);
        line.lower();
        line.raise();
        assert_eq!(hart.pending(), 0, "a disconnected line drives nothing");
    }

    #[test]
    fn destroyed_owner_lines_are_disconnected() {
        let memory: Memory<'_, 8, 4, 1, 8> = Memory::new();
        let hart = HartIrqs::new();
        let (a, b, c) = (IrqLine::new(), IrqLine::new(), IrqLine::new());
        let wiring: IrqWiring<'_, 2> = IrqWiring::new();
        let mut g = memory.lock();
        let root = g.root_owner().unwrap();
        let dev = g.create_owner(root, "dev").unwrap();
        let child = g.create_owner(dev, "child").unwrap();
        wiring
            .connect_checked(&g, child, &a, &hart, irq::MEI)
            .unwrap();
        wiring
            .connect_checked(&g, root, &b, &hart, irq::MSI)
            .unwrap();
        assert_eq!(
            wiring.connect(root, &c, &hart, irq::MTI),
            Err(IrqError::PoolFull)
        );
        a.raise();
        b.raise();
        g.destroy_owner(dev).unwrap();
        assert_eq!(wiring.disconnect_dead(&g), 1);
        assert!(!a.is_connected() && b.is_connected());
        assert_eq!(hart.pending(), 1 << irq::MSI);
        assert_eq!(
            wiring.connect_checked(&g, dev, &c, &hart, irq::MTI),
            Err(IrqError::Owner(Error::Stale {
                what: Object::Owner
            }))
        );
    }
}
