//go:build race

package raft

// raceEnabled shrinks the seeded runs: the race detector slows them ~8x.
const raceEnabled = true
