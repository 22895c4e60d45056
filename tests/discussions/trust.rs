//! Forged and malformed activities change nothing.
