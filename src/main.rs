//! The `dcsensor` command line.

fn main() {}
