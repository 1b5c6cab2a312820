//! Puts memory.x where the linker (cortex-m-rt's link.x) finds it, and rebuilds when the
//! guest image changes; links defmt's linker script with the `defmt` feature.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // defmt's linker script (the `.defmt` section of interned strings), found in the defmt
    // crate's OUT_DIR; only when logging through defmt.
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=../firmware/mcu32/hello.bin");
}
