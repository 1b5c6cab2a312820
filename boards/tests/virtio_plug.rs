//! Plugging and unplugging a virtio-mmio slot's device, and what races with it, against a
//! guest memory (the rig of `virtio.rs`, `virtio_rig`): an unplug stops the slot taking
//! requests, a request in flight ends on the used ring before the slot releases, and a
//! worker's step or a hart's register or configuration access that is preempted while the
//! monitor unplugs the device and plugs another never uses the unplugged model (lined up
//! through the slot's test entry points `step_after`, `read_after`, `write_after`: the
//! pause runs where the thread may be preempted before the slot's state lock).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use fief_boards::dma::{LeaseBus, StepOutcome};
use fief_boards::virtio::blk::{blk_status, req};
use fief_boards::virtio::mmio::reg;
use fief_boards::virtio::queue::desc_flags;
use fief_boards::virtio::rng::{EntropySource, VirtioRng};
use fief_boards::virtio::{status, Transport};
use fief_core::memory::{AccessSize, RegionOffset};

mod common;
mod virtio_rig;

use common::leak;
use virtio_rig::{disk, tunable, Rig, Tunable, BUF};

#[test]
fn unplug_mid_queue_stops_taking_requests() {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.init(0);
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    rig.blk(3, req::IN, 2, BUF + 0x1400, 512, BUF + 0x3001);
    assert_eq!(rig.step(), StepOutcome::Progress, "more waiting");
    assert!(rig.slot.unplug().is_some());
    assert_eq!(rig.step(), StepOutcome::Idle);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.slot.in_flight(), 0);
    assert_eq!(rig.r(reg::DEVICE_ID), 0, "an empty slot again");
    assert!(rig.slot.release());
    assert!(rig.slot.plug(blk));
    assert!(!rig.slot.plug(blk), "taken");
}

/// An rng whose requests wait for the test's go-ahead: a request held in flight.
struct Gated {
    entered: std::sync::Barrier,
    go: std::sync::Barrier,
}

impl EntropySource for Gated {
    fn fill(&self, buf: &mut [u8]) -> bool {
        self.entered.wait();
        self.go.wait();
        buf.fill(0x5a);
        true
    }
}

#[test]
fn an_unplug_completes_only_after_the_request_in_flight_ends_on_the_used_ring() {
    let gated: &'static Gated = leak(Gated {
        entered: std::sync::Barrier::new(2),
        go: std::sync::Barrier::new(2),
    });
    let rng: &'static VirtioRng<'static> = leak(VirtioRng::new(gated));
    let mut rig = Rig::new(Transport::Legacy, Some(rng));
    rig.init(0);
    rig.desc(0, BUF, 16, desc_flags::WRITE, 0);
    rig.offer(0);
    let (mem, space, leases, slot) = (rig.mem, rig.space, rig.leases, rig.slot);
    let worker = std::thread::spawn(move || {
        let bus = LeaseBus {
            memory: mem,
            space,
            leases,
        };
        slot.step(&bus, 0)
    });
    gated.entered.wait();
    // The request is being served: unplug now.
    assert!(rig.slot.unplug().is_some());
    assert_eq!(rig.slot.in_flight(), 1);
    assert!(!rig.slot.release(), "released with a request in flight");
    assert_eq!(rig.r(reg::DEVICE_ID), 0, "the slot looks empty at once");
    gated.go.wait();
    assert_eq!(worker.join().unwrap(), StepOutcome::Finished);
    // The request taken before the unplug completed onto the used ring.
    assert_eq!(rig.slot.in_flight(), 0);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.used_elem(0), (0, 16));
    assert_eq!(rig.peek(BUF, 16), vec![0x5a; 16]);
    assert_eq!(rig.leases.active(), 0);
    assert!(rig.slot.release());
}

/// A worker that began a step just before an unplug, and waits for the state lock to
/// take a request, cannot take one after the unplug has returned: the unplug takes the
/// device out of the state under that lock (so it waits for it here), and a step that
/// gets the lock after it takes nothing. Either way the request is never half taken, the slot releases
/// once nothing is in flight and takes a device again. (Before, the unplug returned at
/// once, the release saw nothing in flight, and the waiting worker then took and served
/// a request of the released slot: the stress test's occasional "slot still busy" on a
/// replug.)
#[test]
fn a_step_racing_an_unplug_takes_no_request_after_the_slot_is_released() {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.init(0);
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    let (mem, space, leases, slot) = (rig.mem, rig.space, rig.leases, rig.slot);
    let held = slot.hold_state_lock();
    let worker = std::thread::spawn(move || {
        let bus = LeaseBus {
            memory: mem,
            space,
            leases,
        };
        slot.step(&bus, 0)
    });
    // Let the worker read the device and reach the state lock.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let unplug = std::thread::spawn(move || slot.unplug().is_some());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !unplug.is_finished(),
        "the unplug returned while a worker that saw the device could still take a request"
    );
    drop(held);
    assert!(unplug.join().unwrap());
    let outcome = worker.join().unwrap();
    match outcome {
        StepOutcome::Idle => assert_eq!(rig.used_idx(), 0),
        _ => {
            assert_eq!(outcome, StepOutcome::Finished);
            assert_eq!(rig.used_idx(), 1, "taken before the unplug: completed");
        }
    }
    assert_eq!(rig.slot.in_flight(), 0);
    assert!(rig.slot.release());
    assert_eq!(rig.step(), StepOutcome::Idle);
    assert!(rig.slot.plug(blk), "the slot takes a device again");
}

/// A worker preempted at the start of a step while the monitor unplugs the slot's device
/// and plugs another (`device_del`, then `device_add`; the new driver sets it up and
/// notifies) serves the new device's request with the new model, never with the old one:
/// the step takes its device from the state, under the state lock it takes the request
/// with. (Before, it read the device first and took the state lock after: the old model,
/// by then perhaps re-bound to another back end, served the new device's request, here
/// writing the old disk.)
#[test]
fn a_step_preempted_across_an_unplug_and_a_plug_serves_with_the_new_model() {
    let (old_disk, old) = disk(16, false);
    let (new_disk, new) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(old));
    rig.init(0);
    let (mem, space, leases, slot) = (rig.mem, rig.space, rig.leases, rig.slot);
    let bus = LeaseBus {
        memory: mem,
        space,
        leases,
    };
    let data = vec![0xa5u8; 512];
    let outcome = slot.step_after(&bus, 0, || {
        assert!(slot.unplug().is_some());
        assert!(slot.release());
        assert!(slot.plug(new));
        rig.init(0);
        rig.poke(BUF + 0x1000, &data);
        rig.blk(0, req::OUT, 2, BUF + 0x1000, 512, BUF + 0x3000);
    });
    assert!(
        old_disk.bytes.lock().unwrap()[2 * 512..3 * 512] == [2u8; 512],
        "the old model wrote the new device's request to its disk"
    );
    assert_eq!(outcome, StepOutcome::Finished);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.peek(BUF + 0x3000, 1), [blk_status::OK]);
    assert!(new_disk.bytes.lock().unwrap()[2 * 512..3 * 512] == data[..]);
    assert_eq!(slot.in_flight(), 0);
}

/// The same for the driver's register and configuration accesses: a hart preempted in an
/// access while the device is replaced reaches the new model (its negotiated features, its
/// configuration), never the old one. (Before, the access read the device before the
/// state lock: a `DriverFeatures` write set the old model's features, a configuration read
/// answered with the old model's configuration.)
#[test]
fn an_access_preempted_across_an_unplug_and_a_plug_reaches_the_new_model() {
    let (old, new) = (tunable(), tunable());
    new.value.store(9, Ordering::SeqCst);
    let rig = Rig::new(Transport::Modern, Some(old));
    let slot = rig.slot;
    let replace = |by: &'static Tunable| {
        let gone = slot.unplug().is_some();
        assert!(gone && slot.release() && slot.plug(by));
        rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        rig.w(reg::DRIVER_FEATURES_SEL, 0);
    };
    let word = AccessSize::Word;
    let _ = slot.write_after(RegionOffset(reg::DRIVER_FEATURES), 1 << 3, word, || {
        replace(new)
    });
    assert_eq!(
        old.negotiated.load(Ordering::SeqCst),
        0,
        "old model negotiated"
    );
    assert_eq!(new.negotiated.load(Ordering::SeqCst), 1 << 3);
    let (v, _) = slot.read_after(RegionOffset(reg::CONFIG), word, || replace(old));
    assert_eq!(v, 7, "the configuration of the model plugged now");
}
