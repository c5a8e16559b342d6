//! MMCSS class names ("Pro Audio", "Capture", ...) as the UTF-16 they were
//! given.
//!
//! On Windows a class name is a `WCHAR` string, and the platform compares and
//! hands back exactly the units it was given, well-formed UTF-16 or not. A
//! Rust `String` cannot hold an unpaired surrogate, so converting on the way
//! in would merge distinct names (`{0xD800}` and `{0xDC00}` would both become
//! U+FFFD) and change what the getters return. [`ClassName`] keeps the units;
//! text is made from it only for display and for matching the well-known
//! names to a scheduling policy.

use std::fmt;

/// An MMCSS class name: UTF-16 code units, kept exactly (unpaired surrogates
/// included), without the terminating NUL.
///
/// Every function that takes a class accepts a `&str` too.
///
/// ```
/// use mfwq::ClassName;
/// let audio = ClassName::from("Audio");
/// assert_eq!(audio.as_utf16(), &[0x41, 0x75, 0x64, 0x69, 0x6F][..]);
/// assert_eq!(audio.to_string(), "Audio");
///
/// // An unpaired surrogate stays what it was.
/// let odd = ClassName::from_utf16(&[0xD800]);
/// assert_ne!(odd, ClassName::from_utf16(&[0xDC00]));
/// assert_eq!(odd.as_utf16(), &[0xD800][..]);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassName(Box<[u16]>);

impl ClassName {
    /// A class from UTF-16 units (without a terminating NUL), kept as they are.
    pub fn from_utf16(units: &[u16]) -> ClassName {
        ClassName(units.into())
    }

    /// The units, exactly as given.
    pub fn as_utf16(&self) -> &[u16] {
        &self.0
    }

    /// Whether this is the empty name `""`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a NUL unit is inside the name (it could not pass through C).
    pub fn contains_nul(&self) -> bool {
        self.0.contains(&0)
    }

    /// The name as text; units that are not valid UTF-16 become U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(&self.0)
    }

    /// The name as text, or `None` if it is not valid UTF-16.
    pub fn to_str(&self) -> Option<String> {
        String::from_utf16(&self.0).ok()
    }
}

impl From<&str> for ClassName {
    fn from(text: &str) -> ClassName {
        ClassName(text.encode_utf16().collect())
    }
}

impl From<&String> for ClassName {
    fn from(text: &String) -> ClassName {
        ClassName::from(text.as_str())
    }
}

impl From<String> for ClassName {
    fn from(text: String) -> ClassName {
        ClassName::from(text.as_str())
    }
}

impl From<&ClassName> for ClassName {
    fn from(name: &ClassName) -> ClassName {
        name.clone()
    }
}

impl PartialEq<str> for ClassName {
    fn eq(&self, other: &str) -> bool {
        self.0.iter().copied().eq(other.encode_utf16())
    }
}

impl PartialEq<&str> for ClassName {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl fmt::Display for ClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for ClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_str() {
            Some(text) => write!(f, "{text:?}"),
            None => write!(f, "ClassName({:04X?})", &self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_lone_surrogates_stay_distinct() {
        let names: Vec<ClassName> = [0xD800, 0xDC00, 0xDBFF, 0xFFFD]
            .iter()
            .map(|&unit| ClassName::from_utf16(&[unit]))
            .collect();
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                assert_eq!(i == j, a == b);
            }
        }
        assert_eq!(format!("{:?}", names[0]), "ClassName([D800])");
    }

    #[test]
    fn text_round_trips() {
        let name = ClassName::from("Pro Audio");
        assert_eq!(name, "Pro Audio");
        assert_eq!(name.to_str().as_deref(), Some("Pro Audio"));
        assert!(!name.contains_nul());
        assert!(ClassName::from("a\0b").contains_nul());
        assert!(ClassName::from("").is_empty());
    }
}
