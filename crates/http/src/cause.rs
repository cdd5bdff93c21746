//! Logging an error's cause chain on one line, without pulling anyhow into
//! this crate's types.

use std::fmt;

/// Displays an error and every `source()` below it, `: `-separated.
pub(crate) struct Cause<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Cause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
