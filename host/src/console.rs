//! The console: where the UART's output goes (`--serial stdio|null|file:PATH`), and the
//! thread that feeds standard input to the UART's receiver.
//!
//! On a terminal, standard input is put in raw mode (output post-processing stays on, as in
//! QEMU) and restored at exit; `Ctrl-A x` quits and `Ctrl-A Ctrl-A` sends one `Ctrl-A`, like
//! QEMU's `-nographic` multiplexer; `Ctrl-A c` switches between the guest's console and the
//! monitor's `(fief) ` prompt ([`Monitor`]). Piped input is forwarded as it is, and its end is just
//! the end of input: the guest runs on.

use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use fief_boards::uart::{SerialSink, Uart16550};
use fief_host::line::{MAX_LINE, TOO_LONG};
use fief_host::monitor::Monitor;

/// Where transmitted bytes go.
pub enum Serial {
    /// Standard output, flushed per byte.
    Stdio,
    /// Nowhere.
    Null,
    /// A file.
    File(Mutex<File>),
}

impl Serial {
    /// Parses a `--serial` value.
    pub fn open(spec: &str) -> Result<Serial, String> {
        match spec {
            "stdio" | "mon:stdio" => Ok(Serial::Stdio),
            "null" | "none" => Ok(Serial::Null),
            _ => match spec.strip_prefix("file:") {
                Some(path) if !path.is_empty() => File::create(path)
                    .map(|f| Serial::File(Mutex::new(f)))
                    .map_err(|e| format!("cannot create serial file '{path}': {e}")),
                _ => Err(format!(
                    "unknown serial backend '{spec}' (use stdio, null or file:PATH)"
                )),
            },
        }
    }
}

impl SerialSink for Serial {
    fn write_byte(&self, byte: u8) {
        match self {
            Serial::Stdio => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&[byte]);
                let _ = out.flush();
            }
            Serial::Null => {}
            Serial::File(f) => {
                if let Ok(mut f) = f.lock() {
                    let _ = f.write_all(&[byte]);
                }
            }
        }
    }
}

/// Terminal settings to put back at exit.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    /// Puts standard input in raw mode if it is a terminal.
    pub fn enter() -> Option<RawMode> {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(libc::STDIN_FILENO) } != 1 {
            return None;
        }
        // SAFETY: termios is plain data; all zeroes is a valid value to be overwritten.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and a valid pointer to a termios.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: `raw` is a valid termios.
        unsafe { libc::cfmakeraw(&mut raw) };
        raw.c_oflag |= libc::OPOST;
        // SAFETY: a valid descriptor and a valid termios.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            return None;
        }
        Some(RawMode { saved })
    }

    /// Restores the saved settings.
    pub fn restore(&self) {
        // SAFETY: a valid descriptor and the termios read by `enter`.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The monitor side of the console: a line editor feeding [`Monitor::execute`].
struct MonitorMode {
    monitor: &'static Monitor,
    line: Vec<u8>,
    /// The line went past [`MAX_LINE`].
    too_long: bool,
}

impl MonitorMode {
    /// One input byte; returns true when the monitor asked to quit.
    fn byte(&mut self, byte: u8) -> bool {
        match byte {
            b'\r' | b'\n' => {
                print("\n");
                let line = String::from_utf8_lossy(&self.line).into_owned();
                self.line.clear();
                if std::mem::take(&mut self.too_long) {
                    print(TOO_LONG);
                    print("(fief) ");
                    return false;
                }
                let reply = self.monitor.execute(&line);
                print(&reply.text);
                if reply.quit {
                    return true;
                }
                print("(fief) ");
            }
            0x7f | 0x08 if self.line.pop().is_some() => print("\x08 \x08"),
            // Past the bound, bytes are dropped (not echoed) and the line is refused.
            0x20..=0x7e if self.line.len() >= MAX_LINE => self.too_long = true,
            0x20..=0x7e => {
                self.line.push(byte);
                print(&(byte as char).to_string());
            }
            _ => {}
        }
        false
    }
}

/// Starts the thread that forwards standard input to `uart`; `Ctrl-A x` sets `quit` and
/// calls `on_quit`; `Ctrl-A c` toggles `monitor`'s prompt. The thread is detached: it blocks
/// in `read` until the process exits.
pub fn spawn_stdin(
    uart: &'static Uart16550<'static>,
    quit: &'static AtomicBool,
    monitor: Option<&'static Monitor>,
    on_quit: impl Fn() + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name("console".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 64];
            let mut escape = false;
            let mut mode: Option<MonitorMode> = None;
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                for &byte in &buf[..n] {
                    if escape {
                        escape = false;
                        match byte {
                            b'x' | b'X' => {
                                quit.store(true, Ordering::Release);
                                on_quit();
                                return;
                            }
                            b'c' | b'C' => {
                                if mode.take().is_some() {
                                    print("\n");
                                } else if let Some(monitor) = monitor {
                                    print(&format!("\n{}(fief) ", Monitor::banner()));
                                    mode = Some(MonitorMode {
                                        monitor,
                                        line: Vec::new(),
                                        too_long: false,
                                    });
                                }
                                continue;
                            }
                            0x01 => {}
                            _ => continue,
                        }
                    } else if byte == 0x01 {
                        escape = true;
                        continue;
                    }
                    if let Some(m) = mode.as_mut() {
                        if m.byte(byte) {
                            // `quit` in the monitor has already stopped the harts.
                            return;
                        }
                        continue;
                    }
                    // Hold the byte until the guest has room for it.
                    while !uart.receive(byte) {
                        if quit.load(Ordering::Acquire) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("fief: no console input: {e}");
    }
}
