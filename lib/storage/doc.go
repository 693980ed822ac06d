// Package storage is the durable layer of a maelkit node: what a node must
// find again after it is killed and restarted (Maelstrom's --nemesis kill,
// or a crash in the simulator).
//
// # Contract
//
// Store (Open, OpenConfig) is one node's state in its working directory:
// a record Log, a Stable value, and a snapshot. Files are named by node id
// and run (see RunID), so the same binary is correct under eddy (a directory
// per node) and under Maelstrom (one directory shared by every node and
// every run on the machine): a restarted node loads what its previous
// process saved in this run, and never a previous run's state.
//
// Durability. Nothing is durable until a sync returns nil: Log.Sync,
// Log.SyncTo, Log.Commit, Stable.Put, Store.SaveSnapshot. A node replies
// to a client, grants a vote or promises only after the write that backs it
// is durable. A sync covers every record appended before it, so a batch of
// writes costs one fsync (the host appends a whole batch, then syncs once),
// and concurrent committers share fsyncs (group commit, Log.SyncTo).
//
// Recovery. The log keeps its longest valid prefix: a torn tail (records
// written but not synced when the machine died) is cut off at the first bad
// checksum, and everything synced is kept. A snapshot and the log file's
// rewrite on compaction are atomic (temporary file, fsync, rename, fsync of
// the directory). Damage that cannot be a torn write (a bad file header, a
// bad snapshot) is reported as ErrCorrupt rather than repaired.
//
// Errors. After a failed write or fsync the Log refuses every later call:
// the node should exit and recover from the files on restart.
//
// Simulation. Everything runs on an FS: OSFS in production, SimDisk in the
// deterministic simulator, whose seeded crashes drop or tear every unsynced
// byte and directory entry while keeping every synced one.
package storage
