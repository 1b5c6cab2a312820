//! A flattened device tree (FDT, DTB) writer into a caller-provided buffer: header, memory
//! reservation map, structure block and strings block, version 17 (last compatible 16). No
//! allocation: the structure block grows up from the start of the buffer, the strings
//! block grows down from its end (property names are shared), and [`FdtWriter::finish`]
//! moves the strings behind the structure and writes the header.
//!
//! ```text
//! let mut w = FdtWriter::new(&mut buf)?;
//! w.reserve(addr, size)?;            // before the first node
//! w.begin_node("")?;                 // the root
//! w.prop_u32("#address-cells", 2)?;
//! w.prop_str("compatible", "riscv-virtio")?;
//! w.begin_node("cpus")?; ... w.end_node()?;
//! w.end_node()?;
//! let len = w.finish()?;             // the DTB is buf[..len]
//! ```

use core::fmt;

/// The FDT magic number.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
const HEADER_LEN: usize = 40;
/// Memory reservation entries the writer can hold (before the terminating one).
pub const MAX_RESERVATIONS: usize = 8;

/// Why a device tree could not be written.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// The buffer is too small for the tree.
    BufferTooSmall,
    /// A reservation after the first node, or more than [`MAX_RESERVATIONS`].
    Reservations,
    /// `end_node` without `begin_node`, a property outside a node, a second root, or
    /// `finish` with open nodes.
    Unbalanced,
    /// A node or property name that is empty (except the root's), or contains a NUL.
    BadName,
    /// Not a device tree blob: no FDT magic.
    NotDtb,
    /// A device tree blob whose header or structure is broken.
    Malformed(&'static str),
}

impl fmt::Display for FdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FdtError::BufferTooSmall => "the device tree does not fit in its buffer",
            FdtError::Reservations => "memory reservations must come first, at most 8",
            FdtError::Unbalanced => "device tree nodes are not balanced",
            FdtError::BadName => "bad device tree node or property name",
            FdtError::NotDtb => "not a device tree blob (no FDT magic 0xd00dfeed)",
            FdtError::Malformed(what) => return write!(f, "malformed device tree blob: {what}"),
        })
    }
}

impl core::error::Error for FdtError {}

/// Writes one device tree into a buffer (see the [module docs](self)).
pub struct FdtWriter<'b> {
    buf: &'b mut [u8],
    /// End of the header + reservation map + structure written so far.
    pos: usize,
    /// Start of the strings block (it grows down from `buf.len()`).
    strings: usize,
    reservations: usize,
    depth: usize,
    started: bool,
    ended: bool,
    boot_cpuid: u32,
}

impl<'b> FdtWriter<'b> {
    /// A writer over `buf`; the boot CPU's id is 0.
    pub fn new(buf: &'b mut [u8]) -> Result<FdtWriter<'b>, FdtError> {
        if buf.len() < HEADER_LEN + 16 {
            return Err(FdtError::BufferTooSmall);
        }
        let len = buf.len();
        buf[..HEADER_LEN].fill(0);
        Ok(FdtWriter {
            buf,
            pos: HEADER_LEN,
            strings: len,
            reservations: 0,
            depth: 0,
            started: false,
            ended: false,
            boot_cpuid: 0,
        })
    }

    /// Sets the header's `boot_cpuid_phys`.
    pub fn set_boot_cpuid(&mut self, id: u32) {
        self.boot_cpuid = id;
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), FdtError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .filter(|&e| e <= self.strings)
            .ok_or(FdtError::BufferTooSmall)?;
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    fn put_u32(&mut self, v: u32) -> Result<(), FdtError> {
        self.put(&v.to_be_bytes())
    }

    fn align(&mut self) -> Result<(), FdtError> {
        while !self.pos.is_multiple_of(4) {
            self.put(&[0])?;
        }
        Ok(())
    }

    /// Adds a memory reservation (only before the first node).
    pub fn reserve(&mut self, addr: u64, size: u64) -> Result<(), FdtError> {
        if self.started || self.reservations >= MAX_RESERVATIONS {
            return Err(FdtError::Reservations);
        }
        self.put(&addr.to_be_bytes())?;
        self.put(&size.to_be_bytes())?;
        self.reservations += 1;
        Ok(())
    }

    fn start_structure(&mut self) -> Result<(), FdtError> {
        if !self.started {
            self.put(&[0; 16])?; // the reservation map's terminator
            self.started = true;
        }
        Ok(())
    }

    /// Opens a node (`""` for the root, which must be the only top-level node).
    pub fn begin_node(&mut self, name: &str) -> Result<(), FdtError> {
        if self.ended || (self.started && self.depth == 0) {
            return Err(FdtError::Unbalanced);
        }
        if name.contains('\0') || (name.is_empty() && self.depth > 0) {
            return Err(FdtError::BadName);
        }
        self.start_structure()?;
        self.put_u32(FDT_BEGIN_NODE)?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.align()?;
        self.depth += 1;
        Ok(())
    }

    /// Closes the innermost open node.
    pub fn end_node(&mut self) -> Result<(), FdtError> {
        if self.depth == 0 {
            return Err(FdtError::Unbalanced);
        }
        self.put_u32(FDT_END_NODE)?;
        self.depth -= 1;
        if self.depth == 0 {
            self.ended = true;
        }
        Ok(())
    }

    /// Offset of `name` in the strings block, adding it if new.
    fn string(&mut self, name: &str) -> Result<u32, FdtError> {
        if name.is_empty() || name.contains('\0') {
            return Err(FdtError::BadName);
        }
        let len = self.buf.len();
        let bytes = name.as_bytes();
        // Search the existing strings (each NUL-terminated) for an exact match.
        let mut at = self.strings;
        while at < len {
            let end = self.buf[at..len]
                .iter()
                .position(|&b| b == 0)
                .map_or(len, |p| at + p);
            if &self.buf[at..end] == bytes {
                return Ok((at - self.strings) as u32);
            }
            at = end + 1;
        }
        // Offsets count from the block's start, which moves down as it grows: to keep
        // the offsets handed out so far, shift the block down and add the new string at
        // its end.
        let need = bytes.len() + 1;
        let new_start = self
            .strings
            .checked_sub(need)
            .filter(|&s| s >= self.pos)
            .ok_or(FdtError::BufferTooSmall)?;
        self.buf.copy_within(self.strings..len, new_start);
        self.buf[len - need..len - 1].copy_from_slice(bytes);
        self.buf[len - 1] = 0;
        self.strings = new_start;
        Ok((len - need - new_start) as u32)
    }

    /// A property with raw bytes.
    pub fn prop(&mut self, name: &str, value: &[u8]) -> Result<(), FdtError> {
        if self.depth == 0 {
            return Err(FdtError::Unbalanced);
        }
        let nameoff = self.string(name)?;
        self.put_u32(FDT_PROP)?;
        self.put_u32(value.len() as u32)?;
        self.put_u32(nameoff)?;
        self.put(value)?;
        self.align()
    }

    /// An empty (boolean) property.
    pub fn prop_empty(&mut self, name: &str) -> Result<(), FdtError> {
        self.prop(name, &[])
    }

    /// A one-cell property.
    pub fn prop_u32(&mut self, name: &str, value: u32) -> Result<(), FdtError> {
        self.prop(name, &value.to_be_bytes())
    }

    /// A property of big-endian cells.
    pub fn prop_cells(&mut self, name: &str, cells: &[u32]) -> Result<(), FdtError> {
        if self.depth == 0 {
            return Err(FdtError::Unbalanced);
        }
        let nameoff = self.string(name)?;
        self.put_u32(FDT_PROP)?;
        self.put_u32((cells.len() * 4) as u32)?;
        self.put_u32(nameoff)?;
        for &c in cells {
            self.put_u32(c)?;
        }
        Ok(())
    }

    /// A property of 64-bit values, each as two cells (a `reg` with 2 address and 2 size
    /// cells).
    pub fn prop_u64s(&mut self, name: &str, values: &[u64]) -> Result<(), FdtError> {
        if self.depth == 0 {
            return Err(FdtError::Unbalanced);
        }
        let nameoff = self.string(name)?;
        self.put_u32(FDT_PROP)?;
        self.put_u32((values.len() * 8) as u32)?;
        self.put_u32(nameoff)?;
        for &v in values {
            self.put(&v.to_be_bytes())?;
        }
        Ok(())
    }

    /// A string property.
    pub fn prop_str(&mut self, name: &str, value: &str) -> Result<(), FdtError> {
        self.prop_strs(name, &[value])
    }

    /// A string-list property (each string NUL-terminated).
    pub fn prop_strs(&mut self, name: &str, values: &[&str]) -> Result<(), FdtError> {
        if self.depth == 0 {
            return Err(FdtError::Unbalanced);
        }
        let nameoff = self.string(name)?;
        let len: usize = values.iter().map(|s| s.len() + 1).sum();
        self.put_u32(FDT_PROP)?;
        self.put_u32(len as u32)?;
        self.put_u32(nameoff)?;
        for s in values {
            self.put(s.as_bytes())?;
            self.put(&[0])?;
        }
        self.align()
    }

    /// Ends the structure block, moves the strings behind it, writes the header. Returns the
    /// total size: the tree is `buf[..size]`.
    pub fn finish(mut self) -> Result<usize, FdtError> {
        if !self.ended || self.depth != 0 {
            return Err(FdtError::Unbalanced);
        }
        self.put_u32(FDT_END)?;
        let off_mem_rsvmap = HEADER_LEN;
        let off_dt_struct = HEADER_LEN + 16 * (self.reservations + 1);
        let size_dt_struct = self.pos - off_dt_struct;
        let len = self.buf.len();
        let size_strings = len - self.strings;
        let off_strings = self.pos;
        self.buf.copy_within(self.strings..len, off_strings);
        let total = off_strings + size_strings;
        let header: [u32; 10] = [
            FDT_MAGIC,
            total as u32,
            off_dt_struct as u32,
            off_strings as u32,
            off_mem_rsvmap as u32,
            17,
            16,
            self.boot_cpuid,
            size_strings as u32,
            size_dt_struct as u32,
        ];
        for (i, word) in header.iter().enumerate() {
            self.buf[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        Ok(total)
    }
}

/// One token of a device tree's structure block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtToken<'b> {
    /// A node opens (`""` for the root).
    BeginNode(&'b str),
    /// The innermost open node closes.
    EndNode,
    /// A property of the innermost open node.
    Prop {
        /// Its name.
        name: &'b str,
        /// Its value.
        value: &'b [u8],
    },
}

/// Reads a device tree blob, checking every offset and length against the blob: a broken
/// or hostile blob is an [`FdtError`], never a panic. Iterating yields the structure
/// block's tokens; the iteration ends after the root closes.
#[derive(Clone, Debug)]
pub struct FdtReader<'b> {
    blob: &'b [u8],
    structure: &'b [u8],
    strings: &'b [u8],
    rsvmap: usize,
    pos: usize,
    depth: usize,
    done: bool,
}

fn be32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

impl<'b> FdtReader<'b> {
    /// Checks `blob`'s header (magic, version 16 or 17, blocks inside `totalsize`, which
    /// is inside `blob`).
    pub fn new(blob: &'b [u8]) -> Result<FdtReader<'b>, FdtError> {
        let word = |i: usize| be32_at(blob, 4 * i).map(|v| v as usize);
        if word(0) != Some(FDT_MAGIC as usize) {
            return Err(FdtError::NotDtb);
        }
        let header = FdtError::Malformed("the header is cut off");
        let total = word(1).ok_or(header)?;
        if blob.len() < HEADER_LEN || total < HEADER_LEN {
            return Err(header);
        }
        if total > blob.len() {
            return Err(FdtError::Malformed(
                "totalsize is beyond the end of the file",
            ));
        }
        let blob = &blob[..total];
        let (off_struct, off_strings, off_rsv) = (
            word(2).ok_or(header)?,
            word(3).ok_or(header)?,
            word(4).ok_or(header)?,
        );
        let version = word(5).ok_or(header)?;
        let last_comp = word(6).ok_or(header)?;
        if version < 16 || last_comp > 17 {
            return Err(FdtError::Malformed("unsupported version (16 or 17 needed)"));
        }
        let (size_strings, size_struct) = (word(8).ok_or(header)?, word(9).ok_or(header)?);
        let block = |off: usize, len: usize, what| {
            off.checked_add(len)
                .and_then(|end| blob.get(off..end))
                .ok_or(FdtError::Malformed(what))
        };
        let structure = block(
            off_struct,
            size_struct,
            "the structure block is outside the blob",
        )?;
        let strings = block(
            off_strings,
            size_strings,
            "the strings block is outside the blob",
        )?;
        if off_rsv >= total {
            return Err(FdtError::Malformed(
                "the reservation map is outside the blob",
            ));
        }
        Ok(FdtReader {
            blob,
            structure,
            strings,
            rsvmap: off_rsv,
            pos: 0,
            depth: 0,
            done: false,
        })
    }

    /// Reads the whole blob; returns its `totalsize` if every token is well formed and
    /// the nodes balance.
    pub fn validate(blob: &'b [u8]) -> Result<usize, FdtError> {
        let mut r = FdtReader::new(blob)?;
        let len = r.blob.len();
        for token in r.by_ref() {
            token?;
        }
        if r.depth != 0 || !r.done {
            return Err(FdtError::Malformed(
                "the structure block ends inside a node",
            ));
        }
        r.reservations().try_for_each(|r| r.map(|_| ()))?;
        Ok(len)
    }

    /// The memory reservations, `(address, size)`.
    pub fn reservations(&self) -> impl Iterator<Item = Result<(u64, u64), FdtError>> + 'b {
        let blob = self.blob;
        let mut at = self.rsvmap;
        let mut over = false;
        core::iter::from_fn(move || {
            if over {
                return None;
            }
            let entry = blob.get(at..at.checked_add(16)?);
            let Some(entry) = entry else {
                over = true;
                return Some(Err(FdtError::Malformed(
                    "the reservation map is not terminated",
                )));
            };
            let mut a = [0u8; 8];
            let mut s = [0u8; 8];
            a.copy_from_slice(&entry[..8]);
            s.copy_from_slice(&entry[8..]);
            let (addr, size) = (u64::from_be_bytes(a), u64::from_be_bytes(s));
            at += 16;
            if addr == 0 && size == 0 {
                over = true;
                return None;
            }
            Some(Ok((addr, size)))
        })
    }

    fn cstr(bytes: &'b [u8], what: &'static str) -> Result<&'b str, FdtError> {
        let end = bytes
            .iter()
            .position(|&b| b == 0)
            .ok_or(FdtError::Malformed(what))?;
        core::str::from_utf8(&bytes[..end]).map_err(|_| FdtError::Malformed(what))
    }

    fn next_token(&mut self) -> Result<Option<FdtToken<'b>>, FdtError> {
        let s = self.structure;
        loop {
            if self.done {
                return Ok(None);
            }
            let token = be32_at(s, self.pos).ok_or(FdtError::Malformed(
                "the structure block ends without FDT_END",
            ))?;
            self.pos += 4;
            match token {
                FDT_BEGIN_NODE => {
                    if self.depth == 0 && self.pos > 4 {
                        return Err(FdtError::Malformed("a second root node"));
                    }
                    let name = Self::cstr(&s[self.pos..], "a node name is not terminated")?;
                    self.pos = (self.pos + name.len() + 1).next_multiple_of(4);
                    self.depth += 1;
                    return Ok(Some(FdtToken::BeginNode(name)));
                }
                FDT_END_NODE => {
                    if self.depth == 0 {
                        return Err(FdtError::Malformed("more nodes end than begin"));
                    }
                    self.depth -= 1;
                    return Ok(Some(FdtToken::EndNode));
                }
                FDT_PROP => {
                    if self.depth == 0 {
                        return Err(FdtError::Malformed("a property outside every node"));
                    }
                    let bad = FdtError::Malformed("a property runs past the structure block");
                    let len = be32_at(s, self.pos).ok_or(bad)? as usize;
                    let nameoff = be32_at(s, self.pos + 4).ok_or(bad)? as usize;
                    let start = self.pos + 8;
                    let value = start
                        .checked_add(len)
                        .and_then(|end| s.get(start..end))
                        .ok_or(bad)?;
                    let name = Self::cstr(
                        self.strings.get(nameoff..).ok_or(FdtError::Malformed(
                            "a property name is outside the strings block",
                        ))?,
                        "a property name is not terminated",
                    )?;
                    self.pos = (start + len).next_multiple_of(4);
                    return Ok(Some(FdtToken::Prop { name, value }));
                }
                FDT_NOP => continue,
                FDT_END => {
                    if self.depth != 0 {
                        return Err(FdtError::Malformed("FDT_END inside a node"));
                    }
                    self.done = true;
                    return Ok(None);
                }
                _ => return Err(FdtError::Malformed("an unknown structure token")),
            }
        }
    }
}

impl<'b> Iterator for FdtReader<'b> {
    type Item = Result<FdtToken<'b>, FdtError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_token() {
            Ok(Some(t)) => Some(Ok(t)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn writes_header_blocks_and_shares_strings() {
        let mut buf = [0u8; 512];
        let mut w = FdtWriter::new(&mut buf).unwrap();
        w.reserve(0x8000_0000, 0x1000).unwrap();
        w.begin_node("").unwrap();
        w.prop_u32("#address-cells", 2).unwrap();
        w.begin_node("a@1").unwrap();
        w.prop_u32("#address-cells", 1).unwrap();
        w.prop_strs("compatible", &["x", "y"]).unwrap();
        w.end_node().unwrap();
        assert_eq!(w.begin_node("second-root"), Ok(()));
        w.end_node().unwrap();
        w.end_node().unwrap();
        assert_eq!(w.begin_node("again"), Err(FdtError::Unbalanced));
        let len = w.finish().unwrap();
        assert_eq!(be32(&buf, 0), FDT_MAGIC);
        assert_eq!(be32(&buf, 4) as usize, len);
        assert_eq!(be32(&buf, 20), 17);
        let strings = be32(&buf, 12) as usize;
        let size = be32(&buf, 32) as usize;
        assert_eq!(
            &buf[strings..strings + size],
            b"#address-cells\0compatible\0"
        );
        assert_eq!(strings + size, len);
        // The reader gives back what the writer wrote, and refuses broken blobs.
        let tokens: [FdtToken<'_>; 8] = [
            FdtToken::BeginNode(""),
            FdtToken::Prop {
                name: "#address-cells",
                value: &[0, 0, 0, 2],
            },
            FdtToken::BeginNode("a@1"),
            FdtToken::Prop {
                name: "#address-cells",
                value: &[0, 0, 0, 1],
            },
            FdtToken::Prop {
                name: "compatible",
                value: b"x\0y\0",
            },
            FdtToken::EndNode,
            FdtToken::BeginNode("second-root"),
            FdtToken::EndNode,
        ];
        let r = FdtReader::new(&buf[..len]).unwrap();
        assert_eq!(
            r.reservations().collect::<Result<heapless::Vec<_, 2>, _>>(),
            Ok(heapless::Vec::from_slice(&[(0x8000_0000, 0x1000)]).unwrap())
        );
        for (got, want) in r.zip(tokens) {
            assert_eq!(got, Ok(want));
        }
        assert_eq!(FdtReader::validate(&buf[..len]), Ok(len));
        assert_eq!(
            FdtReader::validate(&buf[..len - 1]),
            Err(FdtError::Malformed(
                "totalsize is beyond the end of the file"
            ))
        );
        assert_eq!(
            FdtReader::validate(b"not a dtb at all, just text"),
            Err(FdtError::NotDtb)
        );
        let mut broken = buf;
        let off_struct = be32(&broken, 8) as usize;
        broken[off_struct + 3] = 7; // an unknown token
        assert!(matches!(
            FdtReader::validate(&broken[..len]),
            Err(FdtError::Malformed(_))
        ));
        let mut tiny = [0u8; 72];
        let mut w = FdtWriter::new(&mut tiny).unwrap();
        w.begin_node("").unwrap();
        assert_eq!(
            w.prop_str("long-name", "long value"),
            Err(FdtError::BufferTooSmall)
        );
    }
}
