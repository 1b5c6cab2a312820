//! Running a batch of random programs (`randprog`) on Fief's test machine and on QEMU
//! (`qemu-system-riscv32`, or `qemu-system-riscv64` for an RV64 batch) and comparing them
//! program by program, after the known QEMU deviations ([`DEVIATIONS`]) are taken out of
//! QEMU's output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::machine::{Image, Machine, RAM_BASE};
use crate::randprog::{self, Batch, Flavor, Xlen, IMAGE_BASE};

/// Known ways QEMU 7.2 departs from the spec, each with the reason Fief follows the spec.
/// QEMU's output is corrected for these before the comparison, and only these. The entries
/// marked "(avoided)" are not generated; the guest images of `tests/firmware/` skip the same
/// checks, each with a comment naming its entry here.
pub const DEVIATIONS: &[(&str, &str)] = &[
    (
        "AMO exception causes (corrected)",
        "QEMU 7.2 reports a misaligned or faulting AMO (not LR) with the load causes: address \
         misaligned 4, access fault 5, page fault 13. The privileged spec's exception-code \
         table gives AMOs the store/AMO causes 6, 7 and 15, as Fief does (LR stays a load). \
         QEMU's trap lines are corrected, and the handler rewrites mcause so that later \
         reads agree",
    ),
    (
        "mepc/sepc bit 0 (avoided)",
        "QEMU 7.2 keeps bit 0 of a value written to mepc or sepc; the privileged spec says \
         xepc[0] is always zero (Fief clears it). The generator writes only even values",
    ),
    (
        "faulting failed SC (avoided)",
        "an SC without a reservation to an address it may not write: Fief raises the store \
         fault, QEMU 7.2 and Spike fail the SC without an access. The A extension does not \
         say which; the generator's SCs only go to its always-writable data area",
    ),
    (
        "PBMT with menvcfg.PBMTE clear (avoided)",
        "with Svpbmt, a PTE's PBMT field is reserved while menvcfg.PBMTE is 0 and a nonzero \
         value page-faults (the Svpbmt chapter); QEMU 7.2 with svpbmt=on accepts it whatever \
         PBMTE says. Fief faults (core unit tests); rv64/priv_svnapot does not check it",
    ),
    (
        "PBMT = 3 and PTE bits 60:54 with Svnapot or Svpbmt on (avoided)",
        "PBMT value 3 and PTE bits 60:54 are reserved and page-fault (privileged spec, Sv39 \
         walk step 3); QEMU 7.2 ignores them once svnapot or svpbmt is on (without them it \
         faults on bits 60:54, which rv64/priv_sv39 checks). Fief faults (core unit tests); \
         rv64/priv_svnapot does not check them",
    ),
    (
        "RV64 pmpaddr bits 63:54 (avoided)",
        "on RV64 a pmpaddr register encodes address bits 55:2 and its bits 63:54 are zero \
         (the privileged spec's figure for RV64 pmpaddr); QEMU 7.2 keeps all 64 bits of a \
         write, Fief masks them. priv_pmp (RV64) does not read back an all-ones pmpaddr",
    ),
    (
        "RV64 mstatus.UXL writes (avoided)",
        "with only RV64 supported, mstatus.UXL and SXL are read-only 2 (WARL); QEMU 7.2 takes \
         any nonzero value written to UXL, Fief keeps 2. priv_rv64 checks that a write of 0 \
         changes nothing, not a nonzero one",
    ),
    (
        "RV64 mcounteren/scounteren width (avoided)",
        "mcounteren and scounteren are 32-bit registers (the privileged spec), so on RV64 \
         their bits 63:32 read 0, as in Fief; QEMU 7.2 keeps all 64 bits of a write. \
         priv_counters (RV64) compares the low 32 bits",
    ),
    (
        "Zicond, Zicbom, Zicboz (avoided)",
        "QEMU 7.2 has none of them (Zicbom/Zicboz came in 8.0, Zicond in 8.1): their \
         encodings are illegal instructions there. The generator emits none; isa_zicond and \
         isa_cbo run on Fief alone, against the specifications (and, for the cbo trap value, \
         the Sail model's rs1, where QEMU 8 reports the block's base)",
    ),
    (
        "Sstc STIP when STCE is set (avoided)",
        "QEMU 7.2 evaluates time >= stimecmp only when stimecmp is written (and at its timer \
         deadline), so setting menvcfg.STCE while stimecmp is already due leaves STIP clear \
         until the next stimecmp write; the Sstc spec makes STIP reflect the comparison \
         whenever STCE is set, as Fief does (it re-evaluates on STCE, stimecmp and time \
         changes). priv_sstc disarms stimecmp before it changes STCE; the generator does \
         not touch Sstc",
    ),
    (
        "LR/SC through two mappings (avoided)",
        "an LR through one virtual address and an SC to the same bytes through another: \
         QEMU 7.2 keeps the LR's virtual address as the reservation and fails the SC; Fief \
         keeps the physical address, and the A extension's reservation set is a set of bytes \
         of memory that the SC 'contains the bytes being written' of, so the SC succeeds. \
         (An SC may fail for other reasons, so QEMU's result is allowed, not wrong.) Found by \
         diff-random --gen bitmanip seed 0xb17c0028 program 56 (LR at the alias window's \
         page 0, SC at the data word it maps); the generator's SCs avoid the page offsets of \
         its LRs through the alias window",
    ),
    (
        "RV64 ctzw of a zero low word (avoided)",
        "Zbb's ctzw counts the trailing zeros of the low 32 bits of rs1, 32 when they are all \
         zero, whatever bits 63:32 hold (as Fief). QEMU 7.2 counts over all 64 bits when the \
         register is not zero: ctzw of 0xebf4200000000000 gives 45 and of 1 << 63 gives 63 \
         (found by diff-random --xlen 64 --gen bitmanip seed 0x640000 program 31). The \
         generator's ctzw operands are loaded just before it, never with a zero low word and \
         a non-zero high one",
    ),
    (
        "MPRV with MPP = S and SUM clear (avoided)",
        "with mstatus.MPRV = 1 and MPP = S, M-mode loads and stores are translated and \
         protected as S-mode ones (privileged spec, MPRV), so with SUM = 0 an access to a U \
         page page-faults, as in Fief. QEMU 7.2 lets it through (found by diff-random --xlen \
         64 --gen bitmanip seed 0x200 program 37: lbu of a U code page under Sv39 with \
         mstatus 0xa00420888; other MPRV accesses from U differed too, not yet reduced). \
         The generator makes no MPRV accesses",
    ),
    (
        "ebreak mtval (corrected)",
        "QEMU 7.2 writes 0 to mtval on ebreak; Fief writes the ebreak's address, as the \
         privileged spec prefers for breakpoints (mtval: 'the faulting virtual address') and \
         as QEMU does from 8.0. Either is allowed, so QEMU's 0 is read as the address (and the \
         handler sets mtval to mepc after a breakpoint, so that later reads agree)",
    ),
];

/// Fief's instruction budget per program (a program runs ~40k instructions, most of them
/// its final checksum loop).
pub const BUDGET_PER_PROGRAM: u64 = 400_000;

/// QEMU's CPU with Fief's extension set: QEMU 7.2's default `rv32` has the hypervisor
/// extension, which Fief does not (it shows in `mideleg`'s read-only-one bits); Zba, Zbb,
/// Zbc and Zbs are on by default in 7.2 and named here so that no default change drops them
/// (F and D are in `rv32`'s defaults too). No F/D deviation of QEMU 7.2 has shown in the
/// `Fp` generator's programs, so none is listed.
pub const QEMU_CPU: &[&str] = &["-cpu", "rv32,h=false,zba=true,zbb=true,zbc=true,zbs=true"];

/// [`QEMU_CPU`] for RV64 batches (`qemu-system-riscv64`'s `rv64`, also without H).
pub const QEMU_CPU64: &[&str] = &["-cpu", "rv64,h=false,zba=true,zbb=true,zbc=true,zbs=true"];

/// One program whose outputs differ.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The batch's seed.
    pub seed: u64,
    /// The program's index in the batch.
    pub program: usize,
    /// Fief's output for it.
    pub fief: String,
    /// QEMU's (corrected) output for it.
    pub qemu: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {:#x} program {}: Fief and QEMU differ",
            self.seed, self.program
        )?;
        let (fl, ql): (Vec<&str>, Vec<&str>) =
            (self.fief.lines().collect(), self.qemu.lines().collect());
        for k in 0..fl.len().max(ql.len()) {
            let (a, b) = (fl.get(k).copied(), ql.get(k).copied());
            if a != b {
                writeln!(f, "  fief: {}", a.unwrap_or("<none>"))?;
                writeln!(f, "  qemu: {}", b.unwrap_or("<none>"))?;
            } else {
                writeln!(f, "        {}", a.unwrap_or(""))?;
            }
        }
        Ok(())
    }
}

/// How long Fief may take over one batch, in wall time, before the run counts as hung. The
/// instruction budget ([`BUDGET_PER_PROGRAM`]) bounds a guest that runs on; this bounds a
/// hart that stops retiring inside one slice (a loop in its interrupt check), which the
/// budget cannot see. A batch takes seconds even in a debug build on a loaded machine.
pub const FIEF_WALL_LIMIT: Duration = Duration::from_secs(300);

/// The whole output and finisher status of `batch` on Fief's test machine (an RV64 hart for
/// an RV64 batch), run for at most [`BUDGET_PER_PROGRAM`] instructions a program. Panics
/// (fails the test, naming the seed) when the run does not return within
/// [`FIEF_WALL_LIMIT`].
pub fn run_fief(batch: &Batch) -> (String, Option<u32>) {
    run_fief_within(batch, FIEF_WALL_LIMIT)
}

/// Stack of the thread a batch's machine runs on (as `.cargo/config.toml`'s `RUST_MIN_STACK`
/// gives the tests' threads).
const MACHINE_STACK: usize = 8 << 20;

/// [`run_fief`] with a wall-time limit of `limit`.
pub fn run_fief_within(batch: &Batch, limit: Duration) -> (String, Option<u32>) {
    let image = Image {
        xlen: batch.xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, batch.image.clone(), batch.image.len() as u64)],
    };
    let budget = BUDGET_PER_PROGRAM * batch.programs as u64;
    let (done, result) = std::sync::mpsc::channel();
    // The machine runs on a thread of its own so that a hart that never returns fails the
    // test here; the thread is left behind (the test process ends with the test). Its stack
    // is set here rather than left to RUST_MIN_STACK (which cargo's [env] sets for tests but
    // not for `scripts/diff-random`'s binary): a hart holds its block pool by value.
    let spawned = std::thread::Builder::new()
        .stack_size(MACHINE_STACK)
        .spawn(move || {
            let mut m = Machine::new(&image).expect("the image fits the test machine");
            let r = m.run(budget).expect("the machine runs");
            let _ = done.send((
                String::from_utf8_lossy(&r.console).into_owned(),
                r.exit_code,
            ));
        });
    if let Err(e) = spawned {
        panic!(
            "seed {:#x}: the machine's thread could not start: {e}",
            batch.seed
        );
    }
    match result.recv_timeout(limit) {
        Ok(out) => out,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
            "seed {:#x}: Fief did not return from the batch ({budget} instructions at most) \
             within {limit:?}: the hart stopped retiring instructions",
            batch.seed
        ),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("seed {:#x}: Fief's run of the batch panicked", batch.seed)
        }
    }
}

/// The whole output and exit status of `batch` on `qemu-system-riscv32 -M virt -bios none`
/// (`qemu-system-riscv64` for an RV64 batch).
pub fn run_qemu(batch: &Batch) -> (String, Option<i32>) {
    let path = std::env::temp_dir().join(format!(
        "fief-randdiff-{}-{:x}.bin",
        std::process::id(),
        batch.seed
    ));
    std::fs::write(&path, &batch.image).expect("writing the image to the temp dir");
    let _cleanup = Remove(path.clone());
    let cpu = match batch.xlen {
        Xlen::Rv32 => QEMU_CPU,
        Xlen::Rv64 => QEMU_CPU64,
    };
    crate::qemu::qemu_run(
        crate::qemu::binary(batch.xlen),
        std::path::Path::new("none"),
        cpu,
        &path,
        Duration::from_secs(60),
    )
}

struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `out` cut into the programs' outputs (each starts at its `P` line).
pub fn split(out: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for line in out.lines() {
        if line.starts_with("P ") || parts.is_empty() {
            parts.push(String::new());
        }
        if let Some(p) = parts.last_mut() {
            p.push_str(line);
            p.push('\n');
        }
    }
    parts
}

/// The 32-bit word of the image at guest address `addr`, if inside it.
fn word_at(image: &[u8], addr: u64) -> Option<u32> {
    let off = usize::try_from(addr.checked_sub(IMAGE_BASE.into())?).ok()?;
    let b = image.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// QEMU's output with the [`DEVIATIONS`] corrected (trap lines only, by the instruction at
/// their `mepc`; 8-digit fields at RV32, 16-digit ones at RV64).
pub fn correct_qemu(image: &[u8], out: &str) -> String {
    let mut fixed = String::with_capacity(out.len());
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (insn, cause) = match f.as_slice() {
            ["T", cause, epc, _] => (
                u64::from_str_radix(epc, 16)
                    .ok()
                    .and_then(|epc| word_at(image, epc)),
                u64::from_str_radix(cause, 16).ok(),
            ),
            _ => (None, None),
        };
        let hex = |v: u64| format!("{v:0width$x}", width = f[1].len());
        let line = match (insn, cause) {
            (Some(insn), Some(cause @ (4 | 5 | 13)))
                if insn & 0x7f == 0x2f && insn >> 27 != 0x02 =>
            {
                format!("T {} {} {} ", hex(cause + 2), f[2], f[3])
            }
            (Some(insn), Some(3))
                if (insn == 0x0010_0073 || insn & 0xffff == 0x9002)
                    && u64::from_str_radix(f[3], 16) == Ok(0) =>
            {
                format!("T {} {} {} ", f[1], f[2], f[2])
            }
            _ => line.to_string(),
        };
        fixed.push_str(&line);
        fixed.push('\n');
    }
    fixed
}

/// Runs `batch` on both and compares: the number of programs compared, or the first
/// mismatch (also when either does not finish every program and pass).
pub fn compare(batch: &Batch) -> Result<usize, Box<Mismatch>> {
    let (f_out, f_status) = run_fief(batch);
    let (q_out, q_status) = run_qemu(batch);
    let q_out = correct_qemu(&batch.image, &q_out);
    let (fp, qp) = (split(&f_out), split(&q_out));
    for k in 0..fp.len().max(qp.len()) {
        let (a, b) = (fp.get(k), qp.get(k));
        if a != b {
            return Err(Box::new(Mismatch {
                seed: batch.seed,
                program: k,
                fief: a.cloned().unwrap_or_default(),
                qemu: b.cloned().unwrap_or_default(),
            }));
        }
    }
    if fp.len() != batch.programs || f_status != Some(0) || q_status != Some(0) {
        return Err(Box::new(Mismatch {
            seed: batch.seed,
            program: fp.len(),
            fief: match f_status {
                None => format!(
                    "{} programs, not finished in {} instructions\n",
                    fp.len(),
                    BUDGET_PER_PROGRAM * batch.programs as u64
                ),
                Some(_) => format!("{} programs, finisher {f_status:?}\n", fp.len()),
            },
            qemu: format!("{} programs, exit status {q_status:?}\n", qp.len()),
        }));
    }
    Ok(batch.programs)
}

/// [`compare`] for the batch generated from `seed`.
pub fn compare_seed(seed: u64, programs: usize, body: usize) -> Result<usize, Box<Mismatch>> {
    compare(&randprog::batch(seed, programs, body))
}

/// [`compare_seed`] with every data word printed (`randprog::batch_with`).
pub fn compare_seed_full(seed: u64, programs: usize, body: usize) -> Result<usize, Box<Mismatch>> {
    compare(&randprog::batch_with(seed, programs, body, true))
}

/// [`compare`] for the batch of generator `flavor` from `seed` (`full_dump`: every data word
/// printed, as [`compare_seed_full`]).
pub fn compare_flavor(
    flavor: Flavor,
    seed: u64,
    programs: usize,
    body: usize,
    full_dump: bool,
) -> Result<usize, Box<Mismatch>> {
    compare_xlen(Xlen::Rv32, flavor, seed, programs, body, full_dump)
}

/// [`compare_flavor`] for programs of `xlen` (RV64 ones on `qemu-system-riscv64`).
pub fn compare_xlen(
    xlen: Xlen,
    flavor: Flavor,
    seed: u64,
    programs: usize,
    body: usize,
    full_dump: bool,
) -> Result<usize, Box<Mismatch>> {
    compare(&randprog::batch_xlen(
        xlen, flavor, seed, programs, body, full_dump,
    ))
}
