//! The embedded-hal bridges of the `mcu32` board, driven by guest firmware: each guest image
//! (tests/firmware/mcu32/hal_*.S, our own RV32 assembly, images committed) runs on the board
//! through its API, with embedded-hal-mock back ends whose expectations are the exact pin
//! changes, I2C transactions and SPI transfers the guest must cause; `done()` fails a test
//! that left an expectation unmet.
#![allow(clippy::unwrap_used, missing_docs)]

use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as I2c};
use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as Spi};
use fief_boards::finisher::Finish;
use fief_boards::mcu32::{Mcu32, Mcu32Devices};
use fief_boards::uart::SerialSink;
use fief_boards::virt32::RunOutcome;
use fief_core::memory::RamBlock;
use std::sync::Mutex;

type Devices = Mcu32Devices<'static, PinMock, I2cMock, SpiMock<u8>>;

#[derive(Default)]
struct Console(Mutex<Vec<u8>>);

impl SerialSink for Console {
    fn write_byte(&self, byte: u8) {
        self.0.lock().unwrap().push(byte);
    }
}

struct Run {
    outcome: RunOutcome,
    console: String,
    devices: &'static Devices,
}

/// Builds a board with `setup`'s back ends, programs `image` into flash and runs it.
fn run(image: &[u8], setup: impl FnOnce(&'static Devices)) -> Run {
    let devices: &'static Devices = Box::leak(Box::new(Devices::new()));
    let console: &'static Console = Box::leak(Box::default());
    devices.uart.set_sink(console);
    setup(devices);
    let flash = Box::leak(vec![0u8; 4096].into_boxed_slice());
    let sram = Box::leak(vec![0u8; 4096].into_boxed_slice());
    let board = Mcu32::build(devices, RamBlock::new(flash), RamBlock::new(sram)).unwrap();
    board.load_flash(image, 0).unwrap();
    let mut hart = board.hart();
    let outcome = board.run(&mut hart, 100_000, 1000);
    let console = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
    Run {
        outcome,
        console,
        devices,
    }
}

#[test]
fn gpio_guest_drives_and_samples_pins() {
    let pin0 = PinMock::new(&[Pin::set(State::Low), Pin::set(State::High)]);
    let pin1 = PinMock::new(&[Pin::get(State::High), Pin::get(State::Low)]);
    let pin2 = PinMock::new(&[
        Pin::set(State::Low),
        Pin::set(State::High),
        Pin::set(State::Low),
    ]);
    let mut pins = [pin0.clone(), pin1.clone(), pin2.clone()];
    let r = run(include_bytes!("../firmware/mcu32/hal_gpio.bin"), |d| {
        for (i, pin) in [pin0, pin1, pin2].into_iter().enumerate() {
            assert!(d.gpio.attach(i, pin).unwrap().is_none());
        }
    });
    assert_eq!(r.console, "gpio: ok\n");
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Pass));
    for (i, pin) in pins.iter_mut().enumerate() {
        r.devices.gpio.detach(i);
        pin.done();
    }
}

#[test]
fn i2c_guest_write_and_register_read_reach_the_bus() {
    let mut bus = I2cMock::new(&[
        I2c::write(0x50, vec![0x10, 0xab, 0xcd]),
        I2c::write_read(0x50, vec![0x10], vec![0x12, 0x34]),
    ]);
    let attached = bus.clone();
    let r = run(include_bytes!("../firmware/mcu32/hal_i2c.bin"), |d| {
        assert!(d.i2c.attach(attached).is_none());
    });
    assert_eq!(r.console, "i2c: read 12 34\ni2c: ok\n");
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Pass));
    r.devices.i2c.detach();
    bus.done();
}

#[test]
fn i2c_nack_from_the_bus_is_the_status_the_guest_reads() {
    let nack = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    let mut bus = I2cMock::new(&[
        I2c::write(0x42, vec![0x01]).with_error(nack),
        I2c::read(0x43, vec![0x00]).with_error(nack),
    ]);
    let attached = bus.clone();
    let r = run(include_bytes!("../firmware/mcu32/hal_i2c_nack.bin"), |d| {
        d.i2c.attach(attached);
    });
    assert_eq!(
        r.console,
        "i2c: write to 0x42 NACKed\ni2c: read from 0x43 NACKed\n"
    );
    // Code 3: the guest saw both NACKs in RxACK.
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Fail(3)));
    r.devices.i2c.detach();
    bus.done();
}

#[test]
fn i2c_without_a_bus_nacks_every_address() {
    // The same guest with nothing attached: both transfers are NACKed.
    let r = run(include_bytes!("../firmware/mcu32/hal_i2c_nack.bin"), |_| {});
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Fail(3)));
}

#[test]
fn i2c_bus_error_other_than_nack_sets_arbitration_lost() {
    // The register-read guest against a bus that fails the write with a bus error: the
    // guest sees AL (not RxACK) after STO and stops with its check code 2.
    let mut bus =
        I2cMock::new(&[I2c::write(0x50, vec![0x10, 0xab, 0xcd]).with_error(ErrorKind::Bus)]);
    let attached = bus.clone();
    let r = run(include_bytes!("../firmware/mcu32/hal_i2c.bin"), |d| {
        d.i2c.attach(attached);
    });
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Fail(2)));
    r.devices.i2c.detach();
    bus.done();
}

#[test]
fn spi_guest_frames_become_device_transactions() {
    let mut device = SpiMock::new(&[
        // AUTO chip select: one frame, one transaction.
        Spi::transaction_start(),
        Spi::transfer_in_place(vec![0x9f], vec![0xc2]),
        Spi::transaction_end(),
        // HOLD: four frames under one chip select.
        Spi::transaction_start(),
        Spi::transfer_in_place(vec![0x03, 0x00, 0x10, 0x00], vec![0xff, 0xff, 0xaa, 0x55]),
        Spi::transaction_end(),
        // LSB first: 0x01 goes on the wire as 0x80, 0x80 comes back as 0x01.
        Spi::transaction_start(),
        Spi::transfer_in_place(vec![0x80], vec![0x80]),
        Spi::transaction_end(),
    ]);
    let attached = device.clone();
    let r = run(include_bytes!("../firmware/mcu32/hal_spi.bin"), |d| {
        assert!(d.spi.attach(attached).is_none());
    });
    assert_eq!(r.console, "spi: read aa55\nspi: ok\n");
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Pass));
    r.devices.spi.detach();
    device.done();
}

#[test]
fn cosim_guest_runs_on_the_host_board_too() {
    // The co-simulation firmware's guest (tests/cosim-m4) on the same board API, on the
    // host: the output and status the firmware must forward.
    let r = run(include_bytes!("../firmware/mcu32/hello.bin"), |_| {});
    assert_eq!(
        r.console,
        "hello from the RV32 guest on mcu32\n6 * 7 = 0x2a\n"
    );
    assert_eq!(r.outcome, RunOutcome::Finished(Finish::Fail(42)));
}
