// Package paxos is a sans-I/O CASPaxos core: every key is an independent
// register decided by single-decree Paxos rounds, and any node may propose,
// so there is no leader to elect and no failover gap.
//
// # Protocol
//
// A proposer serves client operations (read, write, cas) on a key by running
// a round at a ballot (counter, node id): prepare, collect promises from a
// quorum, adopt the highest accepted state among them, apply the queued
// operations to it (the change function), and accept the result at the same
// ballot. Reads are rounds too (they write back the state they saw), so
// every answer is linearizable. All operations queued on a key while a round
// is in flight go into the next round together (a batch), in arrival order.
//
// One round trip: an accept carries the proposer's next ballot (counter+1),
// which acceptors promise as they accept. A quorum of acceptances is then
// also a quorum of promises for the next ballot, with the proposer's own
// state as the highest accepted one, so its next round on the key skips
// prepare: 2 × (nodes − 1) messages per round. A competing proposer's
// prepare breaks that lease; the owner notices (its accept is rejected, or
// its own acceptor already promised higher) and falls back to two round
// trips.
//
// Exact retries: each state records, per proposer, the tag (a ballot
// counter of that proposer) of its latest batch applied in the history, and
// that batch's outcomes (State.Applied, State.Results). When a round fails
// after its accept went out, the batch may or may not be in the chosen
// history; the retry's prepare tells which (every application of a batch
// goes under one tag, the counter of its first round or forward, so
// Applied[self] >= that tag means it is, and Results[self] says what it
// returned), so a batch is applied exactly once and its answers are exact;
// a carrier of a forwarded copy finds it the same way. Tags and ballots
// a node uses only grow, across restarts too (Storage.MaxCounter), which
// keeps tags unambiguous; a node that lost its disk cannot know the tags
// it used, so it applies its batches under a name of its own from then on
// (amnesia.go).
//
// Definite errors: 20 and 22 are outcomes computed in the chosen history;
// 11 (CodeUnavailable) answers operations that never went into an accept
// (no quorum within UnavailableTicks, or a full queue). An operation whose
// accept went out and that is still unresolved after OpTimeoutTicks gets no
// answer (an Outcome marked Unknown, which the host does not send): its fate
// is unknown.
//
// Contention: a failed round waits a random number of ticks, bounded and
// growing with consecutive failures; a proposer about to prepare first
// yields briefly if its own acceptor just served another proposer's round;
// and, with Config.Forward, it hands its batch to that proposer instead,
// which applies it under the forwarder's name and tag, so the forwarder can
// still run it itself, exactly once, if no answer comes (see forward.go);
// on a key no proposer is busy on, it hands the batch to the key's
// preferred node (a rank order per key among the nodes it hears).
// Forwarding also works where the busy proposer is two hops away (a
// majorities-ring partition): routes learned from rejections and replies,
// up to two relays, replies back along the same path; and an acceptor that
// took an accept within Config.Forward.StickyTicks refuses rival prepares, so the
// busy proposer keeps its quorum and rivals learn where to forward. The
// proposer that gets a forwarded operation chosen also answers its client
// directly (Op.Src, Op.Req). Config.Thrifty sends each request
// to a bare quorum first; with three nodes, an accept goes first to the
// forwarder of a batch it carries, and since its proposer accepted it
// before sending (Msg.Self), the forwarder that accepts it knows it is
// chosen and answers its clients without a forward reply.
//
// Config.Relay goes around links that work one way only (Maelstrom's
// majorities ring on three nodes cuts every link in one direction): a node
// that lacks a quorum of peers it reaches both ways sends through a third
// node what a broken direction would lose (relay.go, on lib/linkhealth,
// the link table Raft's cores share).
//
// # Shape
//
// Step takes every input (peer messages and client requests, see Msg), Tick
// counts time, Drain returns the messages produced. No goroutines, clock or
// I/O; randomness comes from Config.Rand; keys are processed in sorted order,
// so a seeded simulation replays exactly.
//
// # Durability
//
// Rule: nothing a peer or a client was told is forgotten by a restart. A
// promise or an acceptance goes out as a durable write (core.Write: a log
// record of the key's acceptor) in the same Output as the message that
// announces it, and a ballot counter or tag is reserved on disk in the
// Output that first carries it; the driver syncs an Output's writes before
// it sends the Output's messages and replies. Snapshots bound the log (see
// durable.go); New rebuilds from Config.Recovered. A blank disk may be a
// lost one: such a node relearns from a quorum of peers before it serves
// (see amnesia.go).
package paxos
