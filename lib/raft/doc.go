// Package raft is a sans-I/O Raft consensus core in the shape of
// etcd-io/raft: no goroutines, timers, clock or I/O. Time is a count of Tick
// calls; every input, local ones included (a proposal, a read, "campaign
// now"), goes through Step; everything the core wants done (messages to
// send, committed entries to apply, snapshots to restore, reads that may now
// be served) piles up until the caller takes it with Ready.
//
// Implemented, with the section of the Raft paper (Ongaro & Ousterhout 2014)
// or of Ongaro's dissertation it follows:
//   - leader election with randomized timeouts (§5.2), pre-vote (diss. §9.6),
//     check-quorum and leader stickiness (diss. §6.2, §9.6);
//   - log replication (§5.3) with fast backtracking on conflict, and flow
//     control: probe and replicate states with a bounded in-flight window;
//     on a network that reorders, a follower holds an append that arrives
//     ahead of a gap for a few ticks instead of rejecting it
//     (Config.ReorderTicks), so the leader stays in replicate state;
//   - the election restriction (§5.4.1) and the commit rule of §5.4.2: only
//     entries of the leader's current term commit by counting replicas;
//     a leader appends a no-op entry when elected (§8) so that commit moves;
//   - linearizable reads without log writes: ReadIndex (diss. §6.4), and
//     optionally leader leases (Config.LeaseRead, off by default, with its
//     clock assumption documented there);
//   - log compaction by snapshots and InstallSnapshot (§7);
//   - single-server membership changes (diss. §4.1), one at a time;
//   - leadership transfer (diss. §3.10).
//
// Storage: the core keeps its log in memory and hands out, with TakeWrites,
// the durable writes (lib/core's core.Write) that bring a disk up to its
// state: term and vote, log appends and truncations, snapshots. The caller
// makes them durable before it sends any message taken with Ready since
// the previous call, which is Raft's rule (a vote, a campaign, an
// acknowledged append all follow their sync); FromRecovered rebuilds the
// core (Config.Durable) from what a restart finds. A node that starts
// without state may have lost it: Config.Unsure keeps it from voting until
// it knows what its peers hold (amnesia.go).
//
// Tests: the package sits below the core contract (lib/core): it has no
// client commands or replies, and what it commits needs a state machine to
// apply it, so lib/sim cannot drive a *Raft directly. One adapter does
// (simNode, cluster_test.go): it applies what Ready commits to a toy state
// machine, checks the Raft invariants after every event, and hands
// TakeWrites to the simulator's durable disks (sim.NewDurable), the same
// disks and deaths every other core's crash simulation uses. The per-rule
// tests of the paper and the golden traces use a second, smaller harness
// (net_test.go) on purpose: etcd's synchronous network, which delivers in
// rounds with no clock and lets a test hold back or hand-deliver single
// messages; lib/sim's virtual time and event queue order deliveries
// differently, and would change those traces.
package raft
