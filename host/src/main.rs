//! `fief`: runs Fief boards on a workstation.
//!
//! * `fief` with no arguments runs the bundled demo firmware on `virt32`.
//! * `fief run -M virt32[,dumpdtb=FILE] --kernel FILE [--bios default|FILE|none] [--initrd FILE]
//!   [--append ARGS] [--dtb FILE] [--no-reboot] [-m 128M] [--smp N]
//!   [--serial stdio|null|file:PATH] [--max-insns N] [--trace boot,exits,finish,insn]
//!   [-s] [-S] [--gdb tcp::PORT]`; QEMU's spellings `-machine`, `-kernel`, `-bios`,
//!   `-initrd`, `-append`, `-dtb`, `-no-reboot`, `-smp`, `-serial`, `-nographic` work too,
//!   `-M virt` means `-M virt32`, and `fief -M virt32 -kernel FILE` (options first) means
//!   `fief run ...`.
//! * `fief info mtree -M virt32`: the region tree and flat view, as QEMU's monitor prints.
//! * `fief dtb -M virt32 -o FILE`: the device tree the guest gets.
//! * `fief demo-memory`: the memory-API demo (a hot-unplug under a reader).

mod console;
mod demo;
mod gdb;
mod gdb_arch;
mod run;

use fief_host::mtree;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use run::{BoardArgs, RunArgs};

/// Runs Fief boards: RISC-V harts, RAM, CLINT, PLIC, a 16550 UART, a test finisher.
#[derive(Parser, Debug)]
#[command(name = "fief", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a board (with no kernel and no firmware: the bundled demo).
    Run(Box<RunArgs>),
    /// Shows things about a board.
    Info {
        #[command(subcommand)]
        what: Info,
    },
    /// Writes a board's device tree (DTB).
    Dtb {
        #[command(flatten)]
        board: BoardArgs,
        /// Output file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Runs the memory-API demo: boot ROM, console, finisher, hot-unplug under a reader.
    DemoMemory,
}

#[derive(Subcommand, Debug)]
enum Info {
    /// The region tree and flat view (QEMU's `info mtree`).
    Mtree(BoardArgs),
}

/// QEMU's single-dash long options, and `fief -M ...` for `fief run -M ...`.
fn qemu_spellings(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = args
        .map(|a| match a.as_str() {
            "-machine" | "-kernel" | "-bios" | "-smp" | "-serial" | "-nographic" | "-gdb"
            | "-initrd" | "-append" | "-dtb" | "-no-reboot" | "-monitor" | "-drive" | "-device"
            | "-global" | "-chardev" | "-netdev" | "-accel" | "-tb-size" => {
                format!("-{a}")
            }
            _ => a,
        })
        .collect();
    if let Some(first) = out.get(1) {
        let help = matches!(first.as_str(), "-h" | "--help" | "-V" | "--version");
        if first.starts_with('-') && !help {
            out.insert(1, "run".into());
        }
    }
    out
}

fn exit(result: Result<u8, String>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("fief: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(qemu_spellings(std::env::args()));
    match cli.command {
        None => exit(run::run(&RunArgs::demo())),
        Some(Command::Run(args)) => exit(run::run(&args)),
        Some(Command::Info {
            what: Info::Mtree(board),
        }) => exit(run::build(&board).map(|built| {
            print!(
                "{}",
                mtree::info_mtree(&built.devices.memory, &[built.board.space])
            );
            0
        })),
        Some(Command::Dtb { board, output }) => exit(run::build(&board).and_then(|built| {
            let mut buf = vec![0u8; 64 * 1024];
            let len = built.board.write_dtb(&mut buf).map_err(|e| e.to_string())?;
            std::fs::write(&output, &buf[..len])
                .map_err(|e| format!("cannot write '{}': {e}", output.display()))?;
            Ok(0)
        })),
        Some(Command::DemoMemory) => match demo::run() {
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
    }
}
