//! The name of a local actor: a user name or a community slug, which share one namespace.

use std::fmt;

/// A user name or community slug: 1–64 characters of `[a-z0-9_]`, so it is mentionable from
/// Mastodon (`@name@host`) and safe in URLs. Upper case input is folded to lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name is at most 64 characters")]
    TooLong,
    #[error("a name may only contain a-z, 0-9 and _ (got {0:?})")]
    BadCharacter(String),
}

impl Name {
    pub fn parse(raw: &str) -> Result<Name, NameError> {
        let lower = raw.trim().to_lowercase();
        if lower.is_empty() {
            return Err(NameError::Empty);
        }
        if lower.chars().count() > 64 {
            return Err(NameError::TooLong);
        }
        if !lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(NameError::BadCharacter(raw.to_string()));
        }
        Ok(Name(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mentionable_names() {
        assert_eq!(
            Name::parse("Rust_Guild42").expect("valid").as_str(),
            "rust_guild42"
        );
    }

    #[test]
    fn rejects_the_rest() {
        assert_eq!(Name::parse("  "), Err(NameError::Empty));
        assert!(matches!(
            Name::parse("a-b"),
            Err(NameError::BadCharacter(_))
        ));
        assert!(matches!(Name::parse("é"), Err(NameError::BadCharacter(_))));
        assert!(matches!(
            Name::parse("../x"),
            Err(NameError::BadCharacter(_))
        ));
        assert_eq!(Name::parse(&"a".repeat(65)), Err(NameError::TooLong));
    }
}
