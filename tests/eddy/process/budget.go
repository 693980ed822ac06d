package process

import "sync/atomic"

// Budget is a number of bytes shared by every node of a run: each byte of
// node output (stdout and stderr) spends one, and once none are left the
// output is dropped. It bounds what a run can cost eddy in memory, journal
// and logs, however many nodes flood at once.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes; limit <= 0 means unbounded.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Limit is the budget's size in bytes (<= 0: unbounded).
func (b *Budget) Limit() int64 { return b.limit }

// Used is how many bytes were spent, including refused ones.
func (b *Budget) Used() int64 { return b.used.Load() }

// take spends n bytes and reports whether they fit.
func (b *Budget) take(n int64) bool {
	if b == nil || b.limit <= 0 {
		return true
	}
	return b.used.Add(n) <= b.limit
}
