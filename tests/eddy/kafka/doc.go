// Package kafka is eddy's side of Maelstrom's kafka workload (Gossip
// Glomers 5a-5c): the checker, after Jepsen's jepsen.tests.kafka analysis as
// Maelstrom configures it (no transactions, clients crashed periodically,
// keys taken with assign, never subscribe), and the workload's pure parts,
// the generator and the client state machine, which eddy's workload
// framework wires to its scheduler and network.
//
// # History encoding
//
// Ops carry the values Maelstrom's kafka client records, with keys as the
// decimal strings the nodes see and integers as int64:
//
//	send   invoke  [[:send "3" 7]]
//	       ok      [[:send "3" [12 7]]]          offset 12, message 7
//	       fail    [[:send "3" 7]]               (as invoked)
//	       info    [[:send "3" 7]]
//	poll   invoke  [[:poll]]
//	       ok      [[:poll {"3" [[11 6] [12 7]], "4" []}]]
//	assign invoke  ["3" "4"]                     the keys to hold
//	       ok/fail ["3" "4"]
//	crash  invoke  nil, completes as :info
//
// Micro-ops are []any whose first element is a history.Keyword; the poll map
// is a *history.Map with String keys whose values are []any of [offset msg]
// pairs. Messages are whatever the node returned: int64 for integers,
// history.JSON otherwise. A value that does not fit this shape (a node's
// garbage recorded by a lenient client, say) is ignored by the checker, never
// a crash.
//
// Jepsen marks the final phase's assign with :seek-to-beginning? true. An
// eddy op has no room for extra fields, so that assign is the op with Final
// set: the client seeks to offset 0 for every key of a Final assign, and the
// history shows :final? true where Maelstrom shows :seek-to-beginning? true.
// The checker never needs the flag.
//
// # Checker
//
// Analyze builds, per key, the log of offset → values from every poll and
// from every send whose effect is provable (an :ok send, or an :info one
// with a message some :ok poll returned), and its dense
// version order (offsets that hold a value, in order). From these it finds
// Jepsen's anomalies: inconsistent-offsets, duplicate, lost-write, G1a,
// precommitted-read, int-poll-skip, int-nonmonotonic-poll, int-send-skip,
// int-nonmonotonic-send, poll-skip, nonmonotonic-poll, nonmonotonic-send,
// unseen, and the cycles of the write-read and real-time graph (G1c,
// G1c-realtime; Maelstrom infers no write-write edges), with Elle's
// empty-transaction-graph marker when that graph has no edge.
// Result prints them under Maelstrom's keys; Explain turns each case into a
// sentence for the report.
package kafka
