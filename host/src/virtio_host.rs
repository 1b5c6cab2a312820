//! Host back ends of the virtio devices and their command-line spellings.
//!
//! * [`FileDisk`]: a raw image file behind virtio-blk: positioned reads and writes
//!   (`pread`/`pwrite`), `fdatasync` on a flush (so the host file is on disk before the
//!   guest sees the flush complete), zeroing for discard and write-zeroes; read-only
//!   drives are opened read-only; the capacity is the file's size (the monitor's
//!   `block_resize` changes both).
//! * [`HostEntropy`]: the host's `getrandom(2)` behind virtio-rng (through `libc`, already a
//!   dependency: no crate needed for one system call).
//! * [`DriveSpec`], [`DeviceSpec`]: QEMU's `-drive file=PATH,format=raw,if=none,id=ID
//!   [,readonly=on]` and `-device virtio-blk-device,drive=ID` / `virtio-rng-device`, parsed
//!   with one clear line for anything Fief does not take.
//!
//! Requests reach these back ends on the DMA worker threads, never on a hart's thread.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use fief_boards::virtio::blk::{BackendError, BlockBackend};
use fief_boards::virtio::console::ConsoleBackend;
use fief_boards::virtio::rng::EntropySource;

/// A raw disk image file (see the [module docs](self)).
pub struct FileDisk {
    file: File,
    /// The file's size: the capacity (changed by [`FileDisk::resize`]).
    size: AtomicU64,
    read_only: bool,
}

impl FileDisk {
    /// Opens `path`; `read_only` opens it for reading only. A missing file, a directory,
    /// or a file the host does not let Fief write for a writable drive is a clear error.
    pub fn open(path: &Path, read_only: bool) -> Result<FileDisk, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("drive '{shown}': {e}"))?;
        if !meta.is_file() {
            return Err(format!("drive '{shown}': not a regular file"));
        }
        // A file nobody may write is a read-only drive's, even for a user (root) whom the
        // host would let write it anyway.
        use std::os::unix::fs::PermissionsExt;
        if !read_only && meta.permissions().mode() & 0o222 == 0 {
            return Err(format!(
                "drive '{shown}' is a read-only file; add readonly=on for a read-only drive"
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)
            .map_err(|e| {
                if !read_only && e.kind() == std::io::ErrorKind::PermissionDenied {
                    format!(
                        "drive '{shown}' cannot be opened for writing ({e}); add readonly=on \
                         for a read-only drive"
                    )
                } else {
                    format!("drive '{shown}': {e}")
                }
            })?;
        Ok(FileDisk {
            file,
            size: AtomicU64::new(meta.len()),
            read_only,
        })
    }

    /// Makes the file `size` bytes long (cut or zero-extended), the new capacity (the
    /// monitor's `block_resize`). A read-only drive is refused.
    pub fn resize(&self, size: u64) -> Result<(), String> {
        if self.read_only {
            return Err("the drive is read-only".to_string());
        }
        self.file.set_len(size).map_err(|e| e.to_string())?;
        self.size.store(size, Ordering::SeqCst);
        Ok(())
    }
}

impl BlockBackend for FileDisk {
    fn capacity(&self) -> u64 {
        self.size.load(Ordering::SeqCst)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BackendError> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|_| BackendError)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        if self.read_only {
            return Err(BackendError);
        }
        self.file
            .write_all_at(data, offset)
            .map_err(|_| BackendError)
    }

    fn flush(&self) -> Result<(), BackendError> {
        self.file.sync_data().map_err(|_| BackendError)
    }

    fn zero(&self, offset: u64, len: u64) -> Result<(), BackendError> {
        let zeros = [0u8; 64 * 1024];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(zeros.len() as u64) as usize;
            self.write_at(offset + done, &zeros[..n])?;
            done += n as u64;
        }
        Ok(())
    }
}

/// A virtio console's output to a file (`-chardev file,id=ID,path=PATH`), or nowhere.
pub struct FileConsole {
    file: Mutex<Option<File>>,
}

impl FileConsole {
    /// Output to `path` (created or truncated, as QEMU's file chardev), or dropped.
    pub fn open(path: Option<&Path>) -> Result<FileConsole, String> {
        let file = match path {
            Some(p) => Some(
                File::create(p)
                    .map_err(|e| format!("-chardev: cannot create '{}': {e}", p.display()))?,
            ),
            None => None,
        };
        Ok(FileConsole {
            file: Mutex::new(file),
        })
    }
}

impl ConsoleBackend for FileConsole {
    fn write(&self, data: &[u8]) {
        if let Ok(mut f) = self.file.lock() {
            if let Some(f) = f.as_mut() {
                let _ = f.write_all(data);
            }
        }
    }
}

/// The host's entropy (`getrandom(2)`).
pub struct HostEntropy;

impl EntropySource for HostEntropy {
    fn fill(&self, buf: &mut [u8]) -> bool {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // SAFETY: `rest` is a valid, writable buffer of `rest.len()` bytes for the call.
            let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            if n <= 0 {
                return false;
            }
            done += n as usize;
        }
        true
    }
}

/// `-drive file=PATH,format=raw,if=none,id=ID[,readonly=on]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveSpec {
    /// The image file.
    pub file: PathBuf,
    /// Its id (what `-device ...,drive=ID` names).
    pub id: String,
    /// `readonly=on`.
    pub read_only: bool,
}

fn on_off(option: &str, key: &str, v: &str) -> Result<bool, String> {
    match v {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("{option}: {key}={v}: say on or off")),
    }
}

impl DriveSpec {
    /// Parses one `-drive` value.
    pub fn parse(text: &str) -> Result<DriveSpec, String> {
        let (mut file, mut id, mut read_only) = (None, None, false);
        for part in text.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("-drive: '{part}' is not KEY=VALUE"))?;
            match (k, v) {
                ("file", f) if !f.is_empty() => file = Some(PathBuf::from(f)),
                ("id", i) if valid_id(i) => id = Some(i.to_string()),
                ("format", "raw") | ("if", "none") => {}
                ("format", f) => {
                    return Err(format!("-drive: format={f}: Fief takes raw images only"))
                }
                ("if", i) => {
                    return Err(format!(
                    "-drive: if={i}: Fief takes if=none (with -device virtio-blk-device,drive=ID)"
                ))
                }
                ("readonly", v) => read_only = on_off("-drive", k, v)?,
                _ => {
                    return Err(format!(
                        "-drive: '{part}' is not taken (Fief takes file=, format=raw, if=none, \
                         id=, readonly=)"
                    ))
                }
            }
        }
        Ok(DriveSpec {
            file: file.ok_or("-drive: missing file=PATH")?,
            id: id.ok_or("-drive: missing id=ID (1 to 32 letters, digits, - or _)")?,
            read_only,
        })
    }
}

/// A virtio device asked for by `-device` or the monitor's `device_add`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// `virtio-blk-device,drive=ID[,id=NAME]`.
    Blk {
        /// The drive's id.
        drive: String,
        /// The device's id.
        id: Option<String>,
    },
    /// `virtio-rng-device[,id=NAME]`.
    Rng {
        /// The device's id.
        id: Option<String>,
    },
    /// `virtio-serial-device[,id=NAME]`: a console device (command line only).
    Serial {
        /// The device's id.
        id: Option<String>,
    },
    /// `virtconsole,chardev=ID`: the console port of the `virtio-serial-device` before it.
    Virtconsole {
        /// The chardev's id.
        chardev: String,
        /// The port's id (through the monitor: the console's).
        id: Option<String>,
    },
    /// `virtio-net-device,netdev=ID[,mac=MAC][,id=NAME]`.
    Net {
        /// The `-netdev`'s id.
        netdev: String,
        /// The card's address (none: QEMU's default, `52:54:00:12:34:56` and up).
        mac: Option<[u8; 6]>,
        /// The device's id.
        id: Option<String>,
    },
    /// A `virtio-serial-device` with its `virtconsole`, resolved: its chardev's id.
    Console {
        /// The `-chardev` output goes to and input comes from (none: output dropped, no
        /// input).
        chardev: Option<String>,
        /// The device's id.
        id: Option<String>,
    },
}

/// Whether `id` is a good device or drive id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl DeviceSpec {
    /// Parses one `-device` value (`option` names the option in errors).
    pub fn parse(option: &str, text: &str) -> Result<DeviceSpec, String> {
        let mut parts = text.split(',');
        let driver = parts.next().unwrap_or("");
        match driver {
            "virtio-blk-device"
            | "virtio-rng-device"
            | "virtio-net-device"
            | "virtio-serial-device"
            | "virtconsole" => {}
            "" => return Err(format!("{option}: which device?")),
            other => {
                return Err(format!(
                    "{option}: device '{other}' is not taken by Fief (available: \
                     virtio-blk-device, virtio-rng-device, virtio-net-device, \
                     virtio-serial-device, virtconsole)"
                ))
            }
        }
        let (mut drive, mut id, mut chardev) = (None, None, None);
        let (mut netdev, mut mac) = (None, None);
        for part in parts {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{option}: '{part}' is not KEY=VALUE"))?;
            match (k, driver) {
                ("id", _) if valid_id(v) => id = Some(v.to_string()),
                ("id", _) => {
                    return Err(format!(
                        "{option}: bad id '{v}' (1 to 32 letters, digits, -, _ or .)"
                    ))
                }
                ("drive", "virtio-blk-device") => drive = Some(v.to_string()),
                ("chardev", "virtconsole") => chardev = Some(v.to_string()),
                ("netdev", "virtio-net-device") => netdev = Some(v.to_string()),
                ("mac", "virtio-net-device") => {
                    mac = Some(crate::virtio_net::parse_mac(v).ok_or_else(|| {
                        format!("{option}: mac={v}: say six hex bytes, 52:54:00:12:34:56")
                    })?)
                }
                _ => {
                    return Err(format!(
                        "{option}: {driver}: property '{k}' is not taken by Fief"
                    ))
                }
            }
        }
        match driver {
            "virtio-serial-device" => return Ok(DeviceSpec::Serial { id }),
            "virtconsole" => {
                return Ok(DeviceSpec::Virtconsole {
                    chardev: chardev
                        .ok_or_else(|| format!("{option}: virtconsole needs chardev=ID"))?,
                    id,
                })
            }
            _ => {}
        }
        match driver {
            "virtio-blk-device" => Ok(DeviceSpec::Blk {
                drive: drive
                    .ok_or_else(|| format!("{option}: virtio-blk-device needs drive=ID"))?,
                id,
            }),
            "virtio-rng-device" => Ok(DeviceSpec::Rng { id }),
            "virtio-net-device" => Ok(DeviceSpec::Net {
                netdev: netdev
                    .ok_or_else(|| format!("{option}: virtio-net-device needs netdev=ID"))?,
                mac,
                id,
            }),
            "" => Err(format!("{option}: which device?")),
            other => Err(format!(
                "{option}: device '{other}' is not taken by Fief (available: \
                 virtio-blk-device, virtio-rng-device)"
            )),
        }
    }

    /// The device's id, if given.
    pub fn id(&self) -> Option<&str> {
        match self {
            DeviceSpec::Blk { id, .. }
            | DeviceSpec::Rng { id }
            | DeviceSpec::Net { id, .. }
            | DeviceSpec::Serial { id }
            | DeviceSpec::Console { id, .. } => id.as_deref(),
            DeviceSpec::Virtconsole { id, .. } => id.as_deref(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn drive_and_device_specs_parse_as_qemu_spells_them() {
        assert_eq!(
            DriveSpec::parse("file=/tmp/d.img,format=raw,if=none,id=hd0,readonly=on").unwrap(),
            DriveSpec {
                file: "/tmp/d.img".into(),
                id: "hd0".into(),
                read_only: true
            }
        );
        assert!(DriveSpec::parse("file=x,format=qcow2,id=a")
            .unwrap_err()
            .contains("raw"));
        assert!(DriveSpec::parse("file=x,if=virtio,id=a")
            .unwrap_err()
            .contains("if=none"));
        assert!(DriveSpec::parse("file=x").unwrap_err().contains("id="));
        assert!(DriveSpec::parse("file=x,id=a,cache=none")
            .unwrap_err()
            .contains("not taken"));
        assert_eq!(
            DeviceSpec::parse("-device", "virtio-blk-device,drive=hd0").unwrap(),
            DeviceSpec::Blk {
                drive: "hd0".into(),
                id: None
            }
        );
        assert_eq!(
            DeviceSpec::parse("-device", "virtio-rng-device,id=r").unwrap(),
            DeviceSpec::Rng {
                id: Some("r".into())
            }
        );
        assert_eq!(
            DeviceSpec::parse(
                "-device",
                "virtio-net-device,netdev=n,mac=52:54:00:12:34:99"
            )
            .unwrap(),
            DeviceSpec::Net {
                netdev: "n".into(),
                mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x99]),
                id: None
            }
        );
        let e = DeviceSpec::parse("-device", "virtio-net-device").unwrap_err();
        assert!(e.contains("netdev=ID"), "{e}");
        let e = DeviceSpec::parse("-device", "virtio-net-device,netdev=n,mac=1:2").unwrap_err();
        assert!(e.contains("mac="), "{e}");
        let e = DeviceSpec::parse("-device", "e1000,netdev=n").unwrap_err();
        assert!(e.contains("not taken"), "{e}");
        assert!(DeviceSpec::parse("-device", "virtio-blk-device")
            .unwrap_err()
            .contains("drive=ID"));
        assert!(DeviceSpec::parse("-device", "virtio-rng-device,drive=x")
            .unwrap_err()
            .contains("drive"));
    }

    #[test]
    fn host_entropy_fills() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        assert!(HostEntropy.fill(&mut a) && HostEntropy.fill(&mut b));
        assert_ne!(a, b);
    }
}
