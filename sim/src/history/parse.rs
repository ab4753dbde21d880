//! Readers and writers of history files: raftsim JSON lines, Jepsen EDN, Jepsen text logs.
