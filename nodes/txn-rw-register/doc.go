// Command txn-rw-register serves Maelstrom's txn-rw-register and
// txn-list-append workloads (lib/txn).
//
// The mode is the positional argument, which both Maelstrom and eddy pass
// after their options:
//
//	(none)            strict serializable: an ordered log of transactions
//	                  replicated with Raft (raft.go)
//	read-committed    totally available read committed (lib/txn Core)
//	read-uncommitted  the same replica (read committed is stronger)
//
// Anything else exits at once with a usage message on stderr. The option
// -sync=false (before the mode) turns fsync off, to measure its cost.
//
// Crash recovery. The strict mode keeps Raft's state on disk in the
// working directory (lib/raftnode: term, vote, log and snapshots, synced
// before any reply or message that depends on them), so a killed node
// restarts where it was and no acknowledged transaction is lost; a node
// whose disk was wiped rejoins before it votes. The read-committed mode
// keeps its commits on disk too (lib/txn NewDurable: every commit it
// installs is logged before the txn_ok or the acknowledgement to the peer
// that sent it, snapshots bound the log), so a killed node restarts with
// everything it acknowledged and replication resumes; a node whose disk
// was wiped commits under a new origin and gets the old commits back from
// its peers' snapshots, losing only what it acknowledged and no peer got.
//
// # Strict serializable: one Raft log of transactions
//
// Every transaction that writes is one Raft entry (a txn.Command carrying
// its client id and msg_id); every replica applies the committed entries in
// log order, each whole, with txn.Machine (lib/txn's Store.Apply, serial and
// deterministic), and the node that received the transaction answers it
// when the entry applies there. The core is lib/raftnode's, shared with
// lin-kv-raft: RTT-derived ticks, raft transport, forwarding to the leader,
// handoffs to peers when no leader is known.
//
// Why strict serializable. The log order is a total order of the committed
// writing transactions, and each one is applied atomically against the
// state left by all earlier ones: a serial execution. A transaction is
// answered only after its entry committed, and an entry appended after
// another one committed comes later in the log (the leader's log holds
// every committed entry), so a transaction that completes before another
// starts precedes it: the order respects real time.
//
// Read-only transactions take no log entry: they ask for a ReadIndex and
// run on the applied state once it reaches that index (in one step of the
// event loop, so atomically). Place such a read right after the entry a it
// observed (a >= its read index). Real time is respected: a transaction
// that completed before the read started was committed, so the leader,
// having committed an entry of its own term and confirmed with a quorum
// that it still leads after the read arrived, returns a read index at or
// past it; and a transaction that starts after the read completed is
// appended after a, which was committed before (applied implies committed).
// So the combined order (log order, each read after its a) is a serial
// order consistent with real time: strict serializability, as long as
// ReadIndex is linearizable (lib/raft: no lease, a heartbeat round per
// batch of reads).
//
// Exactly once. A forward can be retried and a handoff goes to several
// peers, so the same command may enter the log twice; txn.Machine keeps,
// per client, the last applied msg_id and its result, applies a command
// once and answers its duplicates with the same result. Errors are definite
// (11) only when the transaction surely was not applied: nothing was
// proposed (no leader known, proposal dropped locally, every peer it was
// handed off to said "no leader") or it is read-only; otherwise the client hears the
// result, 13, or nothing (a timeout, :info).
//
// Why not partitioned keys with a commit protocol (2PC over replicated
// participants, with 2PL, OCC or MVCC). That design scales writes with the
// number of shards and lets disjoint transactions commit in parallel, at
// the price of a commit protocol on top of consensus: locks or validation
// at every participant, a coordinator whose decision must itself be
// replicated (or participants that can block, holding locks, when it is
// partitioned mid-commit), aborts under contention that Maelstrom counts
// as failures, and, for strict serializability across shards, either
// commit-wait on synchronised clocks or a global timestamp order. Maelstrom's
// transactional workloads keep a few keys active at a time (--key-count,
// default 10; a key retires after --max-writes-per-key writes) on 3 to 5
// nodes at about 100 transactions a second: one Raft group holds them all
// easily (snapshots bound the log), its
// leader serialises transactions without aborts or locks, and there is no
// coordinator to block: a leader cut off from a quorum loses leadership
// after an election timeout (check-quorum) and the majority side elects
// another, so every transaction either commits in one log or is dropped.
//
// The cost, measured in the README: every writing transaction pays a
// round trip to a quorum through the leader (plus a hop when received by a
// follower), and the minority side of a partition cannot answer at all.
package main
