//! Board layouts are checked at compile time: an overlapping memory map, an IRQ number out
//! of range and a map that does not fit its pools each fail the build (trybuild compares
//! the compiler's message with `ui/*.stderr`).

#[test]
fn bad_layouts_fail_to_build() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
