//! The `raftsim check-history` command.
