//! Linearizability checking (Wing-Gong-Lowe with memoization).
