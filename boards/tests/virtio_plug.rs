//! Plugging and unplugging a virtio-mmio slot's device, and what races with it, against a
//! guest memory (the rig of `virtio.rs`, `virtio_rig`): an unplug stops the slot taking
//! requests, a request in flight ends on the used ring before the slot releases, and a
//! worker's step, a hart's register or configuration access or the machine reset that is
//! preempted while the monitor unplugs the device (and plugs another) never uses the
//! unplugged model. The races are lined up deterministically through the slot's test entry
//! points (`step_after`, `read_after`, `write_after`, `reset_after`: the pause runs where
//! the thread may be preempted before the slot's state lock).
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

/// A worker preempted at the start of a step while the monitor unplugs the slot's device
/// takes no request once the unplug has returned: the unplug takes the device out of the
/// state under the state lock the step takes its request under, so the step that gets the
/// lock after it takes nothing; nothing is in flight, the slot releases and takes a device
/// again. (A request taken before the unplug is counted in flight before the unplug
/// returns and ends on the used ring: the test above.) Before 327acdf the unplug did not
/// take the state lock: it returned at once, the release saw nothing in flight, and the
/// waiting worker then took and served a request of the released slot (the stress test's
/// occasional "slot still busy" on a replug).
#[test]
fn a_step_preempted_across_an_unplug_takes_no_request() {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.init(0);
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    let slot = rig.slot;
    let outcome = slot.step_after(&rig.bus(), 0, || {
        assert!(slot.unplug().is_some());
        assert_eq!(slot.in_flight(), 0, "the slot could be released now");
    });
    assert_eq!(
        outcome,
        StepOutcome::Idle,
        "a request taken after the unplug returned"
    );
    assert_eq!(rig.used_idx(), 0);
    assert_eq!(rig.peek(BUF + 0x3000, 1), [0xff], "the request untouched");
    assert_eq!(slot.in_flight(), 0);
    assert!(slot.release());
    assert_eq!(rig.step(), StepOutcome::Idle);
    assert!(slot.plug(blk), "the slot takes a device again");
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

/// A machine reset (the run loop's, which may run while the monitor plugs) preempted while
/// the slot's device is unplugged and another plugged resets the new model, never the old
/// one, and leaves the new one in the slot's state: the reset takes its device from the
/// state, under the state lock. (Before, it read the device under the `device` lock and
/// took the state lock after: it reset the unplugged model, perhaps plugged elsewhere by
/// then, and put it back in the state, where the new device's registers, configuration and
/// queues were then served with it.) Preempted across an unplug alone, it leaves the
/// unplugged model alone and the slot empty.
#[test]
fn a_reset_preempted_across_an_unplug_and_a_plug_resets_the_new_model() {
    let (old, new) = (tunable(), tunable());
    new.value.store(9, Ordering::SeqCst);
    let rig = Rig::new(Transport::Modern, Some(old));
    let slot = rig.slot;
    rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    let resets = |d: &Tunable| d.resets.load(Ordering::SeqCst);
    let (old_before, new_before) = (resets(old), resets(new));
    slot.reset_after(|| {
        let gone = slot.unplug().is_some();
        assert!(gone && slot.release() && slot.plug(new));
        rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    });
    assert_eq!(resets(old), old_before, "the unplugged model was reset");
    assert_eq!(
        resets(new),
        new_before + 2,
        "the plug's reset, the machine's"
    );
    assert_eq!(rig.r(reg::STATUS), 0, "the driver state went");
    assert_eq!(
        rig.r(reg::CONFIG),
        9,
        "the configuration of the model plugged now"
    );
    rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    rig.w(reg::DRIVER_FEATURES_SEL, 0);
    rig.w(reg::DRIVER_FEATURES, 1 << 3);
    assert_eq!(new.negotiated.load(Ordering::SeqCst), 1 << 3);
    assert_eq!(old.negotiated.load(Ordering::SeqCst), 0);

    let before = resets(new);
    slot.reset_after(|| assert!(slot.unplug().is_some()));
    assert_eq!(resets(new), before, "the unplugged model was reset");
    assert_eq!(rig.r(reg::DEVICE_ID), 0, "an empty slot");
    assert!(slot.release() && slot.plug(old));
    assert_eq!(rig.r(reg::CONFIG), 7);
}
