//! The monitor on a Unix socket (`--monitor unix:PATH`): one session at a time on a
//! detached thread, a stale socket file replaced, anything else at the path refused.

use super::{Monitor, Reply};
use crate::line::{BoundedLines, Line, TOO_LONG};

/// Serves the monitor on a Unix socket at `path`, one session at a time, on a detached
/// thread. A file already at `path` is replaced only if it is a stale socket (nobody
/// listens on it); anything else is refused with a clear line. Lines are read with a bound
/// ([`crate::line`]): an over-long one is answered with an error and discarded.
pub fn serve_unix(monitor: &'static Monitor, path: &str) -> Result<(), String> {
    use std::io::{BufReader, Write};
    use std::os::unix::net::UnixListener;
    replace_stale_socket(path)?;
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("--monitor: cannot listen on '{path}': {e}"))?;
    std::thread::Builder::new()
        .name("monitor".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let Ok(mut out) = stream.try_clone() else {
                    continue;
                };
                let _ = write!(out, "{}(fief) ", Monitor::banner());
                let _ = out.flush();
                let mut lines = BoundedLines::new(BufReader::new(stream));
                while let Ok(Some(line)) = lines.next_line() {
                    let reply = match line {
                        Line::Text(line) => monitor.execute(&line),
                        Line::TooLong => Reply::text(TOO_LONG),
                    };
                    let _ = out.write_all(reply.text.as_bytes());
                    if reply.quit {
                        return;
                    }
                    let _ = write!(out, "(fief) ");
                    let _ = out.flush();
                }
            }
        })
        .map_err(|e| format!("cannot start the monitor thread: {e}"))?;
    Ok(())
}

/// Makes room for the monitor's socket at `path`: nothing there, or a stale socket (which
/// is removed); a socket something listens on, or any other file, is an error.
fn replace_stale_socket(path: &str) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    use std::os::unix::net::UnixStream;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("--monitor: cannot look at '{path}': {e}")),
    };
    if !meta.file_type().is_socket() {
        return Err(format!(
            "--monitor: '{path}' exists and is not a socket: refusing to replace it"
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(format!(
            "--monitor: '{path}' is a socket in use (something listens on it): refusing to replace it"
        )),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => std::fs::remove_file(path)
            .map_err(|e| format!("--monitor: cannot remove the stale socket '{path}': {e}")),
        Err(e) => Err(format!(
            "--monitor: '{path}' is a socket that cannot be checked ({e}): refusing to replace it"
        )),
    }
}
