package paxos

import (
	"cmp"
	"strconv"
	"strings"
)

// Ballot orders rounds: by Counter, then by Node, so two proposers never
// share one. The zero Ballot is below every ballot a proposer uses.
type Ballot struct {
	Counter int64  `json:"c"`
	Node    string `json:"n"`
}

// Compare returns -1, 0 or +1 as b is below, equal to or above o.
func (b Ballot) Compare(o Ballot) int {
	if c := cmp.Compare(b.Counter, o.Counter); c != 0 {
		return c
	}
	return strings.Compare(b.Node, o.Node)
}

// Less reports whether b is below o.
func (b Ballot) Less(o Ballot) bool { return b.Compare(o) < 0 }

// IsZero reports whether b is the zero ballot.
func (b Ballot) IsZero() bool { return b == Ballot{} }

// String is "counter.node", "0" for the zero ballot.
func (b Ballot) String() string {
	if b.IsZero() {
		return "0"
	}
	return strconv.FormatInt(b.Counter, 10) + "." + b.Node
}

// maxBallot returns the higher of a and b.
func maxBallot(a, b Ballot) Ballot {
	if a.Less(b) {
		return b
	}
	return a
}
