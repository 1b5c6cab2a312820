//! Which execution tier the test machine's [`Machine::run`](crate::machine::Machine::run)
//! runs guest code with, read as `fief run` reads it without `-accel`: from the
//! environment variable [`ACCEL_ENV`] (`FIEF_ACCEL`): `interp` (the core's interpreter
//! alone) or `tcg[,tb-size=N]` (the host's translating tier, [`fief_host::jit::Jit`],
//! offered every block; where it does not exist, not an x86-64 Unix host, the interpreter
//! runs, as in `fief run`). Unset, the test machine runs the interpreter (`fief run`'s own
//! default is the translating tier). The test suite (`scripts/test-all`) sets it in both
//! passes, `interp` then `tcg`, so every in-process guest test (firmware images, QEMU
//! differentials, random programs) runs under both tiers.
//!
//! Also [`run_both`]: one slice of two machines built alike, under the interpreter and
//! under a translating tier, their ends compared (the tier's differential tests).

use std::fmt;

use fief_core::cpu::riscv::tier::Interp;
use fief_core::cpu::riscv::Exit;
use fief_host::jit::{Jit, DEFAULT_TB_SIZE_MIB};

use crate::machine::Machine;

/// The environment variable that chooses the tier (the one `fief run` reads).
pub const ACCEL_ENV: &str = "FIEF_ACCEL";

/// An execution tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter alone.
    Interp,
    /// The translating tier with a code cache of this many MiB.
    Tcg(usize),
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tier::Interp => write!(f, "interp"),
            Tier::Tcg(mib) => write!(f, "tcg,tb-size={mib}"),
        }
    }
}

impl Tier {
    /// Parses `interp` or `tcg[,tb-size=N]` (as `fief run -accel` takes them).
    pub fn parse(spec: &str) -> Result<Tier, String> {
        let mut parts = spec.split(',');
        let name = parts.next().unwrap_or_default();
        let mut mib = DEFAULT_TB_SIZE_MIB;
        for part in parts {
            mib = match part.split_once('=') {
                Some(("tb-size", v)) => v
                    .parse()
                    .ok()
                    .filter(|&m| m > 0)
                    .ok_or_else(|| format!("'{spec}': tb-size={v} is not a number of MiB"))?,
                _ => return Err(format!("'{spec}': unknown property '{part}'")),
            };
        }
        match name {
            "interp" => Ok(Tier::Interp),
            "tcg" => Ok(Tier::Tcg(mib)),
            _ => Err(format!("'{spec}': the tiers are interp and tcg")),
        }
    }

    /// The tier [`ACCEL_ENV`] names (unset or empty: the interpreter).
    pub fn from_env() -> Result<Tier, String> {
        match std::env::var(ACCEL_ENV) {
            Ok(v) if !v.is_empty() => Tier::parse(&v).map_err(|e| format!("{ACCEL_ENV}={e}")),
            _ => Ok(Tier::Interp),
        }
    }
}

/// Runs `interp` under the interpreter and `translated` (a machine built alike) under
/// `jit`, each one time slice of `budget` instructions: how the slices ended, which must
/// agree (the tier's counters in the message). The first step of the tier's
/// differential tests, which then compare the machines' state.
pub fn run_both(
    interp: &mut Machine,
    translated: &mut Machine,
    jit: &mut Jit,
    budget: u64,
) -> Exit {
    let a = interp
        .run_slice_with(budget, &mut Interp)
        .expect("the interpreter's machine runs");
    let b = translated
        .run_slice_with(budget, jit)
        .expect("the translating tier's machine runs");
    assert_eq!(b, a, "{:?}", jit.stats());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(Tier::parse("interp"), Ok(Tier::Interp));
        assert_eq!(Tier::parse("tcg"), Ok(Tier::Tcg(DEFAULT_TB_SIZE_MIB)));
        assert_eq!(Tier::parse("tcg,tb-size=4"), Ok(Tier::Tcg(4)));
        for bad in [
            "kvm",
            "tcg,tb-size=0",
            "tcg,tb-size=x",
            "tcg,thread=multi",
            "",
        ] {
            assert!(Tier::parse(bad).is_err(), "{bad}");
        }
    }
}
