//! Issue 18: solved questions and community insights. `solved.rs`: a reply marked as the
//! answer on one node shows as solved on every node and in every node's insights, unmarking,
//! who may mark, a confidential community's insights, bad windows. `figures.rs`: a seeded
//! three-node scenario whose every figure is computed by hand. `remembered.rs`: a closed
//! window computed once and again after each change of its figures. `fallback.rs`: the `Like`
//! a marked answer gets, for software that ignores the mark.

mod fallback;
mod figures;
mod pages;
mod remembered;
mod scale;
mod solved;
