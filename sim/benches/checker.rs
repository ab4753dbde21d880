//! Linearizability checker throughput (filled in with the checker).
fn main() {}
