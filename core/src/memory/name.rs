//! Fixed-capacity names for owners, regions and address spaces.

/// Longest name kept, in bytes; longer names are cut at a character boundary.
pub const NAME_CAPACITY: usize = 32;

/// A name of at most [`NAME_CAPACITY`] bytes.
pub type Name = heapless::String<NAME_CAPACITY>;

/// `text` cut to [`NAME_CAPACITY`] bytes at a character boundary.
pub fn name(text: &str) -> Name {
    let mut out = Name::new();
    for c in text.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}
