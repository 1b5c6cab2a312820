//! M-mode traps: the entry that saves the interrupted registers on this hart's M stack, and
//! the handler: SBI calls, the timer and software interrupts, `rdtime` emulation, and every
//! other exception of the next stage handed back to its own trap vector (as OpenSBI does);
//! a trap the next stage cannot handle ends the machine with a message.

use crate::csr::{self, cause, irq, mstatus};
use crate::platform::{self, FW_BASE, FW_SIZE};
use crate::{fatal, hsm, sbi};

/// The interrupted registers: `x[i]` is `xi` (`x[0]` unused, `x[2]` the interrupted `sp`).
#[repr(C)]
pub struct Frame {
    /// x0..x31.
    pub x: [usize; 32],
}

core::arch::global_asm!(
    r#"
    .section .text.trap, "ax"
    .globl fief_trap_entry
    .p2align 2
fief_trap_entry:
    csrrw sp, mscratch, sp
    addi sp, sp, -32*{rb}
    .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .if {rb} == 8
    sd x\r, \r*8(sp)
    .else
    sw x\r, \r*4(sp)
    .endif
    .endr
    csrr t0, mscratch
    .if {rb} == 8
    sd t0, 16(sp)
    .else
    sw t0, 8(sp)
    .endif
    addi t0, sp, 32*{rb}
    csrw mscratch, t0
    mv a0, sp
    call {handler}
    .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .if {rb} == 8
    ld x\r, \r*8(sp)
    .else
    lw x\r, \r*4(sp)
    .endif
    .endr
    .if {rb} == 8
    ld sp, 16(sp)
    .else
    lw sp, 8(sp)
    .endif
    mret
"#,
    rb = const core::mem::size_of::<usize>(),
    handler = sym trap_handler,
);

const INTERRUPT: usize = 1 << (usize::BITS - 1);

extern "C" fn trap_handler(f: &mut Frame) {
    let mcause = csr::read!(mcause);
    let hart = csr::read!(mhartid);
    let status = csr::read!(mstatus);
    let epc = csr::read!(mepc);
    if status & mstatus::MPP_MASK == mstatus::MPP_M {
        fatal(format_args!(
            "hart {hart}: trap in the firmware itself (mcause {mcause:#x}, mepc {epc:#x}, mtval {:#x})",
            csr::read!(mtval)
        ));
    }
    if mcause & INTERRUPT != 0 {
        match mcause & !INTERRUPT {
            3 => hsm::do_work(hart),
            7 => {
                csr::clear!(mie, irq::MTI);
                csr::set!(mip, irq::STI);
            }
            code => fatal(format_args!(
                "hart {hart}: unexpected M-mode interrupt {code}"
            )),
        }
        return;
    }
    match mcause {
        cause::SUPERVISOR_ECALL => {
            let answer = sbi::ecall(
                f.x[17],
                f.x[16],
                [f.x[10], f.x[11], f.x[12], f.x[13], f.x[14], f.x[15]],
            );
            f.x[10] = answer.a0;
            if let Some(a1) = answer.a1 {
                f.x[11] = a1;
            }
            csr::write!(mepc, epc + 4);
        }
        cause::ILLEGAL_INSN if emulate_rdtime(f, epc) => csr::write!(mepc, epc + 4),
        _ => redirect(f, hart, mcause, epc),
    }
}

/// Emulates `rdtime` (and on RV32 `rdtimeh`: `csrrs rd, time[h], x0`) from the CLINT's `mtime`, for harts
/// whose `time` CSR is not readable below M mode. Fief's hart and QEMU's implement it (and
/// `mcounteren.TM` is set), so this runs only on harts without it or for U mode when the
/// kernel left `scounteren.TM` clear.
fn emulate_rdtime(f: &mut Frame, epc: usize) -> bool {
    let mut insn = csr::read!(mtval);
    if insn == 0 {
        insn = fetch(epc);
    }
    let (opcode, funct3, rs1, rd, csr_num) = (
        insn & 0x7f,
        (insn >> 12) & 7,
        (insn >> 15) & 0x1f,
        (insn >> 7) & 0x1f,
        insn >> 20,
    );
    if opcode != 0x73 || funct3 != 2 || rs1 != 0 {
        return false;
    }
    let time = platform::mtime();
    let value = match csr_num {
        0xc01 => time as usize,
        // `timeh` exists on RV32 only.
        0xc81 if cfg!(target_pointer_width = "32") => (time >> 32) as usize,
        _ => return false,
    };
    if rd != 0 {
        f.x[rd] = value;
    }
    true
}

/// Reads the 32-bit instruction at the interrupted `pc` with its privilege and translation.
fn fetch(epc: usize) -> usize {
    let (lo, hi): (usize, usize);
    csr::set!(mstatus, mstatus::MPRV);
    // SAFETY: MPRV makes these loads use the interrupted mode's translation and permission;
    // the instruction just trapped there, so its page is mapped. A fault would be a trap in
    // the firmware, which ends the machine with a message.
    unsafe {
        core::arch::asm!("lhu {0}, 0({2})", "lhu {1}, 2({2})", out(reg) lo, out(reg) hi, in(reg) epc)
    };
    csr::clear!(mstatus, mstatus::MPRV);
    hi << 16 | lo
}

/// Hands an exception of the next stage to its S-mode trap vector, as if delegated; ends
/// the machine if the next stage has none or the exception shows it left its own code.
fn redirect(f: &Frame, hart: usize, mcause: usize, epc: usize) {
    let tval = csr::read!(mtval);
    let stvec = csr::read!(stvec) & !3;
    if (FW_BASE..FW_BASE + FW_SIZE).contains(&epc) {
        fatal(format_args!(
            "hart {hart}: the next stage returned or jumped into the firmware (pc {epc:#x}, ra {:#x}, mcause {mcause})",
            f.x[1]
        ));
    }
    if stvec == 0 {
        fatal(format_args!(
            "hart {hart}: exception {mcause} (mtval {tval:#x}) at pc {epc:#x} before the next stage set stvec"
        ));
    }
    let status = csr::read!(mstatus);
    let mut new = status & !(mstatus::SPP | mstatus::SPIE | mstatus::SIE | mstatus::MPP_MASK);
    if status & mstatus::MPP_MASK == mstatus::MPP_S {
        new |= mstatus::SPP;
    }
    if status & mstatus::SIE != 0 {
        new |= mstatus::SPIE;
    }
    new |= mstatus::MPP_S;
    csr::write!(scause, mcause);
    csr::write!(stval, tval);
    csr::write!(sepc, epc);
    csr::write!(mstatus, new);
    csr::write!(mepc, stvec);
}
