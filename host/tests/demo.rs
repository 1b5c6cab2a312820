//! `fief demo-memory` (the memory-API demo) and argument handling.

use std::process::Command;

fn fief(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .output()
        .expect("run fief");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn memory_demo_prints_banner_unplugs_and_exits_through_finisher() {
    let (code, stdout, stderr) = fief(&["demo-memory"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(
        stdout.starts_with("Fief demo: boot ROM -> RAM -> console through the memory API\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the old view still reaches it (ok), the new view answers decode error; 1 region(s) waited for the reader, 1 reclaimed after it"),
        "{stdout}"
    );
    assert!(stdout.contains("    0000000020000000-0000000020000fff (prio 0, i/o): alias boot-rom-mirror @boot-rom 0000000000000000-0000000000000fff"), "{stdout}");
    assert!(stdout.contains("finisher: exit code 0"), "{stdout}");
}

#[test]
fn unknown_arguments_are_a_clear_error() {
    let (code, _, stderr) = fief(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: unrecognized subcommand 'frobnicate'"),
        "{stderr}"
    );
}
