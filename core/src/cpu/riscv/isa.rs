//! What the hart implements, said in one place: `misa`'s extension bits
//! ([`MISA_EXTENSIONS`]) and the multi-letter extensions ([`Z_EXTENSIONS`], and
//! [`RV64_EXTENSIONS`] for RV64 harts), from which
//! both the `misa` CSR and a device tree's `riscv,isa` string ([`write_isa`]) are made.
//! An extension added to the hart is added here, and nowhere else.

use core::fmt;

use super::Xlen;

/// `misa` bit of extension letter `c` (`'a'`..=`'z'`).
const fn bit(c: u8) -> u64 {
    1 << (c - b'a')
}

/// `misa`'s extension bits: I, M, A, F and D (with the `fpu` feature), C, and the S and U
/// privilege modes.
pub const MISA_EXTENSIONS: u64 = bit(b'i')
    | bit(b'm')
    | bit(b'a')
    | if cfg!(feature = "fpu") {
        bit(b'f') | bit(b'd')
    } else {
        0
    }
    | bit(b'c')
    | bit(b's')
    | bit(b'u');

/// Multi-letter extensions, in the order the ISA string takes (the `Z*` ones by their
/// category letter in the single-letter order, then alphabetically; then the `S*` ones):
/// cache-block operations (Zicbom, Zicbop, Zicboz), counters (Zicntr, Zihpm), conditional
/// zero (Zicond), CSRs, `fence.i`, `pause` (Zihintpause), bit manipulation (Zba, Zbb, Zbc,
/// Zbs), debug triggers (Sdtrig), the supervisor timer `stimecmp` (Sstc); Zicbom, Zicboz,
/// Zicond, the bit-manipulation ones and Sstc with the `ext` feature (Zicbop's prefetches are `ori` hints, always there).
pub const Z_EXTENSIONS: &[&str] = if cfg!(feature = "ext") {
    &[
        "zicbom",
        "zicbop",
        "zicboz",
        "zicntr",
        "zicond",
        "zicsr",
        "zifencei",
        "zihintpause",
        "zihpm",
        "zba",
        "zbb",
        "zbc",
        "zbs",
        "sdtrig",
        "sstc",
    ]
} else {
    &[
        "zicbop",
        "zicntr",
        "zicsr",
        "zifencei",
        "zihintpause",
        "zihpm",
        "sdtrig",
    ]
};

/// Extensions only RV64 harts have, after [`Z_EXTENSIONS`] in the ISA string: Svnapot
/// and Svpbmt (the RV64 page-table formats, `mmu`), with the `rv64` feature.
pub const RV64_EXTENSIONS: &[&str] = if cfg!(feature = "rv64") {
    &["svnapot", "svpbmt"]
} else {
    &[]
};

/// The single-letter extensions in the ISA string's canonical order (S and U are
/// privilege modes, not named there).
const LETTER_ORDER: &[u8] = b"iemafdqlcbkjtpvh";

/// Writes the ISA string (`rv32imafdc_zicbom_..._zbs_sdtrig`, see [`Z_EXTENSIONS`])
/// for `xlen`: the device tree's `riscv,isa`.
pub fn write_isa(xlen: Xlen, out: &mut impl fmt::Write) -> fmt::Result {
    out.write_str(match xlen {
        Xlen::Rv32 => "rv32",
        Xlen::Rv64 => "rv64",
    })?;
    for &c in LETTER_ORDER {
        if MISA_EXTENSIONS & bit(c) != 0 {
            out.write_char(c as char)?;
        }
    }
    for z in Z_EXTENSIONS {
        write!(out, "_{z}")?;
    }
    if xlen == Xlen::Rv64 {
        for x in RV64_EXTENSIONS {
            write!(out, "_{x}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Buf([u8; 128], usize);
    impl fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }

    #[test]
    fn isa_string_follows_misa() {
        let mut b = Buf([0; 128], 0);
        write_isa(Xlen::Rv32, &mut b).unwrap_or(());
        let z = if cfg!(feature = "ext") {
            "zicbom_zicbop_zicboz_zicntr_zicond_zicsr_zifencei_zihintpause_zihpm_zba_zbb_zbc_zbs_sdtrig_sstc"
        } else {
            "zicbop_zicntr_zicsr_zifencei_zihintpause_zihpm_sdtrig"
        };
        let letters = if cfg!(feature = "fpu") {
            "imafdc"
        } else {
            "imac"
        };
        assert_eq!(
            core::str::from_utf8(&b.0[..b.1]),
            Ok(std::format!("rv32{letters}_{z}").as_str())
        );
    }

    #[test]
    fn rv64_isa_string_adds_svnapot_and_svpbmt() {
        let mut b32 = Buf([0; 128], 0);
        write_isa(Xlen::Rv32, &mut b32).unwrap_or(());
        let mut b = Buf([0; 128], 0);
        write_isa(Xlen::Rv64, &mut b).unwrap_or(());
        let s32 = core::str::from_utf8(&b32.0[..b32.1]).unwrap_or("");
        let s64 = core::str::from_utf8(&b.0[..b.1]).unwrap_or("");
        let tail = if cfg!(feature = "rv64") {
            "_svnapot_svpbmt"
        } else {
            ""
        };
        assert_eq!(s64, std::format!("rv64{}{tail}", &s32[4..]));
        assert!(!s32.contains("sv"), "{s32}");
    }
}
