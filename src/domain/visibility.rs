//! Who may see a community.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Anyone may follow and read.
    Public,
    /// Only nodes on the admin's partner list may follow, fetch or receive.
    Partners,
    /// Joining needs approval; content goes to approved members only.
    Members,
}

impl Visibility {
    pub fn parse(s: &str) -> Result<Visibility, String> {
        match s {
            "public" => Ok(Visibility::Public),
            "partners" => Ok(Visibility::Partners),
            "members" => Ok(Visibility::Members),
            other => Err(format!(
                "unknown visibility {other:?} (expected public, partners or members)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Partners => "partners",
            Visibility::Members => "members",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
