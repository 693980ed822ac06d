// Package txn is the transaction layer of the txn-rw-register and
// txn-list-append workloads: the micro-operation types (Mop, Txn: ["r",k,v],
// ["w",k,v], ["append",k,v], integer keys and values, reads null when the
// key is absent), a deterministic Store that runs a transaction and
// installs its writes atomically (Apply, Snapshot, Restore: the state
// machine a replicated log of transactions applies), and Core, a sans-I/O
// replica giving totally available read committed.
//
// # The read-committed replica (Core)
//
// Every node answers every transaction at once, from its own replica, and
// never aborts (Maelstrom's total availability counts any definite error
// as unavailable). Txn executes the transaction against the local
// committed state (its reads also see its own earlier writes), then
// commits it: its write set (the final value of each register it wrote,
// its appends in order) is installed locally at version (L, id), where L
// is one more than the highest Lamport time installed here, and appended
// to this node's log of commits with the next sequence number. Every
// FlushTicks the core sends each peer the commits it has not acknowledged
// (at most BatchMax a message, WindowMax in flight, resent after RTOTicks
// without progress); a peer installs an origin's commits in sequence order,
// each as one unit, skipping duplicates and stopping at a gap, and its
// next message acknowledges the highest contiguous sequence number. The
// per-origin sequence numbers are a version vector: after a partition
// heals every node has installed every commit, and since installation is
// last-writer-wins by version for registers and version-sorted insertion
// for lists (commutative and idempotent), all replicas converge to the
// same state. Commits go directly from their origin to each peer (no
// relaying), so convergence needs the origin alive, or its commits on
// disk: a core built with NewDurable logs every commit it installs before
// acknowledging it and resumes replication after a restart; one restarted
// from an empty disk commits under a new origin and gets back from its
// peers, in snapshots of their stores, what it lost (see NewDurable for
// the rule, and below for lists).
//
// Why this is read committed (Adya's PL-2: no G0, G1a, G1b, G1c):
//
//   - G1a (aborted read): nothing aborts, and a write is installed only
//     when its transaction has committed.
//   - G1b (intermediate read): a write set holds a register's final write
//     only; list appends of one transaction are installed together.
//   - Atomic visibility: a write set is installed in one step of the event
//     loop, locally at commit and remotely on receipt, and a transaction
//     executes in one step too, so no read sees part of a transaction.
//   - G0 and G1c (cycles of ww and wr edges): give each writing transaction
//     its version. A ww edge T1 → T2 on a key means T2's write follows T1's
//     in the key's version order, which is the version order. A wr edge
//     T1 → T2 means T2 read T1's write, so T1's write was installed at T2's
//     node before T2 ran, so the node's Lamport clock was at least T1's and
//     T2's version is greater. Every ww or wr edge between writing
//     transactions goes up in one total order, and a read-only transaction
//     has no outgoing ww or wr edge: no cycle. Elle's inferred version order
//     for rw-register (a txn's write follows what it read) agrees with this
//     order for the same reason.
//
// Lists need one more rule (txn-list-append): read committed forbids two
// reads of a list that are not prefixes of one another (incompatible-order),
// and an append that arrives late with a lower version would land inside a
// list already read. So a list read shows only the elements whose Lamport
// time is at most Stable: the minimum of this node's clock and, per peer,
// the clock it sent in a message whose commits are all installed here (its
// future commits will have higher Lamport times). No append can ever land
// below Stable, so every list read, at every node, is a prefix of the
// list's final version order. The price: a node's own appends, and appends
// made while a peer is unreachable, become visible to list reads only once
// every peer has been heard from (about a round trip and StableTicks on a
// healthy network). A transaction's read of a list it appended to shows
// its own appends after that prefix only when nothing can land between
// them: every peer's stable clock (and a durable core's dead-origin cap)
// is above this node's clock, so the prefix is the whole installed list
// and every commit not installed here will follow the transaction's (on
// one node, always). Otherwise the read ignores its own appends (Elle's
// "internal" anomaly, which read committed allows): no totally available
// replica can do better, since two nodes that each append to a key and
// read it before hearing of the other's append cannot both see their own
// element right after what they read, whichever comes first in the final
// order; showing them anyway gives incompatible-order, a G1a. With
// Config.WaitOwnReads such a transaction is answered only once the horizon
// reaches its version, its reads of those lists then showing every element
// below its version and its own appends: no "internal", but no total
// availability either (under a partition the client times out). Registers
// are read whole (last-writer-wins needs no horizon), and a read of a
// register the transaction wrote returns its last write.
//
// Durable cores keep the horizon sound across crashes: a restart with its
// disk comes back with a clock at least as high as any it sent (what it
// sent was on disk first). A restart from an empty disk starts its clock
// at Config.FreshClock, above every version its earlier processes used,
// and its peers start its stable clock again; the commits of its dead
// origin that a node lacks may still arrive in a snapshot, with Lamport
// times above only the stable clock the node had reached for that origin,
// so while a message (a version vector, entries) has shown that more of
// them exist than the node holds, its horizon stays at or below that
// clock (0 for a dead origin never heard of as current). Two cases stay
// outside the guarantee: a read that saw an append acknowledged on a node
// whose disk was then wiped before any peer got it (the append is lost,
// and that read is not a prefix of later ones), and commits of a dead
// origin that no message had yet shown to exist when a node raised its
// horizon past them (sent by the wiped process just before it died, still
// in flight).
//
// What it does not give: anything stronger. Reads may be stale (replication
// is asynchronous, and a partitioned node keeps answering from its own
// replica), concurrent read-modify-writes lose updates, and reads are not
// repeatable across transactions, so histories show G-single, G2-item,
// lost updates and their realtime variants when checked as serializable
// (and, checked as strict serializable, G0 and G1c too: eddy then infers
// each key's version order from real time, which this replica does not
// follow).
package txn
