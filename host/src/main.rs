//! `fief`: runs Fief machines on a workstation.
//!
//! Today it runs the bundled memory-API demo (`fief`, or `fief demo`) and prints its memory
//! map (`fief info mtree`). The RISC-V hart, the `virt32` board and `fief run` follow.

mod demo;
mod mtree;

use std::process::ExitCode;

const USAGE: &str = "usage: fief [demo | info mtree | --help]\n\
  demo        run the bundled demo (default)\n\
  info mtree  run the demo quietly and print its region tree and flat view";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["demo"] => match demo::run() {
            Ok(outcome) => {
                print!("{}", outcome.mtree);
                println!("finisher: exit code {}", outcome.exit_code);
                debug_assert!(outcome.reclaimed_after_reader <= 1);
                ExitCode::from(outcome.exit_code.min(255) as u8)
            }
            Err(e) => {
                eprintln!("fief: {e}");
                ExitCode::FAILURE
            }
        },
        ["info", "mtree"] => match demo::run() {
            Ok(outcome) => {
                print!("{}", outcome.mtree);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("fief: {e}");
                ExitCode::FAILURE
            }
        },
        ["--help"] | ["-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("fief: unknown arguments {:?}\n{USAGE}", args);
            ExitCode::from(2)
        }
    }
}
