//! A follower's side of InstallSnapshot (section 7): the chunks of one snapshot, assembled in
//! order. Chunks may be lost, duplicated or reordered, and the follower may crash half-way
//! (its partial snapshot is volatile); each answer names the offset it needs next, and the
//! leader resends from there.

use crate::{Index, Membership, Snapshot, Term};

/// The largest snapshot a follower accepts, to bound what a malformed message can make it hold.
pub(crate) const SNAPSHOT_BYTES_MAX: u64 = 1 << 30;

/// One InstallSnapshot chunk, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub index: Index,
    pub term: Term,
    pub membership: Membership,
    pub size_bytes: u64,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// A snapshot being received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Incoming {
    index: Index,
    term: Term,
    size_bytes: u64,
    /// The bytes received so far, a prefix of the snapshot.
    data: Vec<u8>,
}

/// What a chunk led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// The snapshot is whole.
    Complete(Snapshot),
    /// More is needed, from this offset.
    Partial { offset_next: u64 },
}

impl Incoming {
    fn is_for(&self, chunk: &Chunk) -> bool {
        (self.index, self.term, self.size_bytes) == (chunk.index, chunk.term, chunk.size_bytes)
    }
}

/// Adds `chunk` to the snapshot being received in `slot`. A first chunk (offset 0) of another
/// snapshot replaces it; a chunk that does not start where the received bytes end (a duplicate,
/// or one after a lost chunk) is dropped, and the answer asks for the right offset.
/// `offset_checked` is false only under the `SnapshotChunkOffsetIgnored` mutation: then any
/// chunk of the snapshot being received is appended where the received bytes end.
pub(crate) fn receive(slot: &mut Option<Incoming>, chunk: Chunk, offset_checked: bool) -> Received {
    debug_assert!(chunk.offset + chunk.data.len() as u64 <= chunk.size_bytes);
    let known = slot.as_ref().is_some_and(|i| i.is_for(&chunk));
    if !known {
        if chunk.offset != 0 {
            // The start of this snapshot was lost, or this node restarted since: begin again.
            return Received::Partial { offset_next: 0 };
        }
        *slot = Some(Incoming {
            index: chunk.index,
            term: chunk.term,
            size_bytes: chunk.size_bytes,
            data: Vec::new(),
        });
    }
    let incoming = slot.as_mut().expect("set above");
    if chunk.offset != incoming.data.len() as u64 && offset_checked {
        return Received::Partial {
            offset_next: incoming.data.len() as u64,
        };
    }
    incoming.data.extend_from_slice(&chunk.data);
    if (incoming.data.len() as u64) < incoming.size_bytes {
        return Received::Partial {
            offset_next: incoming.data.len() as u64,
        };
    }
    let whole = slot.take().expect("set above");
    Received::Complete(Snapshot {
        index: whole.index,
        term: whole.term,
        membership: chunk.membership,
        data: whole.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(offset: u64, data: &[u8]) -> Chunk {
        Chunk {
            index: 9,
            term: 2,
            membership: Membership::simple(&[1, 2, 3]),
            size_bytes: 6,
            offset,
            data: data.to_vec(),
        }
    }

    #[test]
    fn chunks_assemble_in_order_despite_duplicates_and_gaps() {
        let mut slot = None;
        assert_eq!(
            receive(&mut slot, chunk(2, b"cd"), true),
            Received::Partial { offset_next: 0 },
            "a chunk of an unknown snapshot past its start"
        );
        assert_eq!(slot, None);
        assert_eq!(
            receive(&mut slot, chunk(0, b"ab"), true),
            Received::Partial { offset_next: 2 }
        );
        assert_eq!(
            receive(&mut slot, chunk(0, b"ab"), true),
            Received::Partial { offset_next: 2 },
            "a duplicate first chunk does not start over"
        );
        assert_eq!(
            receive(&mut slot, chunk(4, b"ef"), true),
            Received::Partial { offset_next: 2 },
            "a chunk after a lost one asks for the lost one"
        );
        assert_eq!(
            receive(&mut slot, chunk(2, b"cd"), true),
            Received::Partial { offset_next: 4 }
        );
        let Received::Complete(s) = receive(&mut slot, chunk(4, b"ef"), true) else {
            panic!("the last chunk completes it");
        };
        assert_eq!((s.index, s.term, s.data.as_slice()), (9, 2, &b"abcdef"[..]));
        assert_eq!(slot, None, "nothing left half-received");
    }

    #[test]
    fn another_snapshot_replaces_a_partial_one() {
        let mut slot = None;
        receive(&mut slot, chunk(0, b"ab"), true);
        let newer = Chunk {
            index: 12,
            size_bytes: 1,
            ..chunk(0, b"z")
        };
        let Received::Complete(s) = receive(&mut slot, newer, true) else {
            panic!("a one-chunk snapshot");
        };
        assert_eq!((s.index, s.data.as_slice()), (12, &b"z"[..]));
        assert_eq!(
            receive(&mut slot, chunk(2, b"cd"), true),
            Received::Partial { offset_next: 0 },
            "the older transfer's bytes are gone"
        );
    }

    #[test]
    fn an_empty_snapshot_is_one_empty_chunk() {
        let mut slot = None;
        let empty = Chunk {
            size_bytes: 0,
            ..chunk(0, b"")
        };
        assert!(matches!(
            receive(&mut slot, empty, true),
            Received::Complete(Snapshot { index: 9, .. })
        ));
    }
}
