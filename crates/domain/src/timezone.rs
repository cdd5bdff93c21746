//! IANA time-zone names, checked against the tz database of the
//! `chrono-tz` crate (kept up to date with each IANA release), never a
//! hand-typed list.

use std::fmt;
use std::str::FromStr;

/// A time-zone name the tz database knows (`Europe/Amsterdam`, `UTC`),
/// kept in its canonical spelling.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TimeZone(&'static str);

impl TimeZone {
    /// The zone named `text` exactly as the tz database spells it (links
    /// such as `US/Eastern` included; the case must match, since the
    /// database names are case-sensitive identifiers); `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        chrono_tz::Tz::from_str(text)
            .ok()
            .filter(|tz| tz.name() == text)
            .map(|tz| Self(tz.name()))
    }

    /// The canonical name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.0)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_parse_to_their_names() {
        for name in [
            "Europe/Amsterdam",
            "UTC",
            "America/Argentina/Buenos_Aires",
            "Asia/Kolkata",
        ] {
            assert_eq!(TimeZone::parse(name).map(|z| z.as_str()), Some(name));
        }
    }

    #[test]
    fn unknown_or_misspelt_zones_are_refused() {
        for name in [
            "",
            "Europe/Amsterdamm",
            "europe/amsterdam",
            "Mars/Olympus",
            " UTC",
            "UTC\n",
        ] {
            assert_eq!(TimeZone::parse(name), None, "{name:?}");
        }
    }
}
