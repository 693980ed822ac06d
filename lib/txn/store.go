package txn

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// elem is one appended element, ordered by (Ver, Idx): Idx is its position
// among its transaction's appends.
type elem struct {
	Ver Version `json:"ver"`
	Idx int64   `json:"i"`
	V   int64   `json:"v"`
}

func (e elem) less(f elem) bool {
	if e.Ver != f.Ver {
		return e.Ver.Less(f.Ver)
	}
	return e.Idx < f.Idx
}

// cell is one key's state. The two workloads never mix on a key; should a
// key hold both, a read returns the list.
type cell struct {
	Reg    int64   `json:"reg,omitempty"`
	RegVer Version `json:"regVer"`
	HasReg bool    `json:"hasReg,omitempty"`
	List   []elem  `json:"list,omitempty"`
}

// Store is an in-memory multi-key store of registers and lists that
// installs a transaction's writes atomically. Every installed write carries
// a Version: a register keeps the write of the highest version (last writer
// wins), a list holds its appends sorted by version. So replicas that
// install the same write sets, in any order and any number of times, hold
// the same state. Not safe for concurrent use (one event loop owns it).
type Store struct {
	keys map[int64]*cell
	// clock is the highest Lamport time installed: a version above it
	// follows every write this store holds.
	clock int64
	// horizon, when hide is set, hides the list elements of Lamport time
	// above it from reads; own says whether a transaction's reads of a list
	// show its own earlier appends then (see SetListHorizon).
	horizon int64
	hide    bool
	own     bool
}

// SetListHorizon makes Execute's reads show, of every list, only the
// elements whose Lamport time is at most h. The read-committed replica sets
// it to a time below which no new append can ever arrive, so every list
// read is a prefix of the list's final order, at every replica
// (txn-list-append's incompatible-order). With own set, a transaction's
// read of a list it appended to shows its own earlier appends after that
// prefix: the caller sets it only when nothing can ever land between them
// (h is the store's clock and every append not installed here will have a
// higher version than the transaction's). Without it, such a read ignores
// the transaction's own appends (Elle's "internal" anomaly, which read
// committed allows): showing them could make the read a non-prefix of the
// list's final order. Registers are not affected: a read of a register the
// transaction wrote always returns its last write.
func (s *Store) SetListHorizon(h int64, own bool) { s.horizon, s.hide, s.own = h, true, own }

// NewStore returns an empty store.
func NewStore() *Store { return &Store{keys: map[int64]*cell{}} }

// Clock is the highest Lamport time of any installed write.
func (s *Store) Clock() int64 { return s.clock }

// Len is the number of keys ever written.
func (s *Store) Len() int { return len(s.keys) }

// Get reads a key's committed value, whole (SetListHorizon does not apply).
func (s *Store) Get(k int64) Value { return s.read(k, false) }

// read is Get, with lists cut at the horizon when hide is set.
func (s *Store) read(k int64, hide bool) Value {
	c := s.keys[k]
	switch {
	case c == nil:
		return Value{}
	case len(c.List) > 0:
		list := c.List
		if hide {
			// Sorted by version, so Lamport time first: the visible part
			// is a prefix.
			n, _ := slices.BinarySearchFunc(list, s.horizon, func(e elem, h int64) int {
				if e.Ver.Lamport <= h {
					return -1
				}
				return 1
			})
			if list = list[:n]; len(list) == 0 {
				return Value{}
			}
		}
		vs := make([]int64, len(list))
		for i, e := range list {
			vs[i] = e.V
		}
		return Value{Kind: List, List: vs}
	case c.HasReg:
		return IntValue(c.Reg)
	}
	return Value{}
}

// listBelow is key k's list elements of version below v, whole (the
// horizon does not apply).
func (s *Store) listBelow(k int64, v Version) []int64 {
	c := s.keys[k]
	if c == nil {
		return nil
	}
	var vs []int64
	for _, e := range c.List {
		if !e.Ver.Less(v) {
			break // sorted by version
		}
		vs = append(vs, e.V)
	}
	return vs
}

// Execute runs t against the committed state without changing it: reads
// see the committed value overlaid with t's own earlier writes and appends.
// It returns the completed transaction (reads filled in, writes echoed) and
// t's write set. Execute then Install is one atomic transaction as long as
// nothing is installed in between (the caller's event loop ensures it).
func (s *Store) Execute(t Txn) (Txn, WriteSet) {
	done := make(Txn, len(t))
	var ws WriteSet
	// Own writes: the last register write per key, and appends per key.
	regs := map[int64]int64{}
	apps := map[int64][]int64{}
	var order []int64 // keys in first-write order, for a deterministic write set
	for i, m := range t {
		done[i] = Mop{F: m.F, K: m.K, Arg: m.Arg}
		switch m.F {
		case Read:
			v := s.read(m.K, s.hide)
			if own, ok := apps[m.K]; ok && (!s.hide || s.own) {
				if v.Kind != List {
					v = Value{Kind: List}
				}
				v.List = append(v.List, own...)
			} else if r, ok := regs[m.K]; ok {
				v = IntValue(r)
			}
			done[i].Result = v
		case Write:
			if _, ok := regs[m.K]; !ok {
				order = append(order, m.K)
			}
			regs[m.K] = m.Arg
		case Append:
			apps[m.K] = append(apps[m.K], m.Arg)
			ws.Appends = append(ws.Appends, KV{K: m.K, V: m.Arg})
		}
	}
	for _, k := range order {
		ws.Writes = append(ws.Writes, KV{K: k, V: regs[k]})
	}
	return done, ws
}

// Install applies a committed write set at version v, atomically (nothing
// can observe a part of it): each register takes its write if v is newer
// than the version it holds, each append is inserted in version order, an
// element already present (same version and position) is not inserted
// again. Installing a write set twice, or write sets in any order, gives
// the same state.
func (s *Store) Install(ws WriteSet, v Version) {
	s.clock = max(s.clock, v.Lamport)
	for _, w := range ws.Writes {
		c := s.cell(w.K)
		if !c.HasReg || c.RegVer.Less(v) {
			c.Reg, c.RegVer, c.HasReg = w.V, v, true
		}
	}
	for i, a := range ws.Appends {
		c := s.cell(a.K)
		e := elem{Ver: v, Idx: int64(i), V: a.V}
		// Most appends are the newest: check the tail before searching.
		n := len(c.List)
		if n == 0 || c.List[n-1].less(e) {
			c.List = append(c.List, e)
			continue
		}
		j, found := slices.BinarySearchFunc(c.List, e, func(x, y elem) int {
			switch {
			case x.less(y):
				return -1
			case y.less(x):
				return 1
			}
			return 0
		})
		if !found {
			c.List = slices.Insert(c.List, j, e)
		}
	}
}

func (s *Store) cell(k int64) *cell {
	c := s.keys[k]
	if c == nil {
		c = &cell{}
		s.keys[k] = c
	}
	return c
}

// Apply runs t serially and installs its writes at the next version: the
// whole state machine of a replicated log of transactions (each replica
// applies the same txns in the same order and answers the same completed
// txns). It returns the completed transaction.
func (s *Store) Apply(t Txn) Txn {
	done, ws := s.Execute(t)
	if !ws.Empty() {
		s.Install(ws, Version{Lamport: s.clock + 1})
	}
	return done
}

// snapshot is the serialized store; keys sorted, so equal stores give equal
// bytes.
type snapshot struct {
	Clock int64   `json:"clock"`
	Keys  []int64 `json:"keys"`
	Cells []cell  `json:"cells"`
}

// Snapshot serializes the store deterministically.
func (s *Store) Snapshot() ([]byte, error) {
	snap := snapshot{Clock: s.clock}
	for _, k := range slices.Sorted(maps.Keys(s.keys)) {
		snap.Keys = append(snap.Keys, k)
		snap.Cells = append(snap.Cells, *s.keys[k])
	}
	return json.Marshal(snap)
}

// Restore replaces the store's state with a snapshot's.
func (s *Store) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("txn: restore: %w", err)
	}
	if len(snap.Keys) != len(snap.Cells) {
		return fmt.Errorf("txn: restore: %d keys but %d cells", len(snap.Keys), len(snap.Cells))
	}
	keys := make(map[int64]*cell, len(snap.Keys))
	for i, k := range snap.Keys {
		c := snap.Cells[i]
		if !slices.IsSortedFunc(c.List, func(x, y elem) int {
			if x.less(y) {
				return -1
			}
			return 1
		}) {
			return fmt.Errorf("txn: restore: key %d: list out of version order", k)
		}
		keys[k] = &c
	}
	s.keys, s.clock = keys, snap.Clock
	return nil
}

// Equal says whether two stores hold the same state (convergence checks).
func (s *Store) Equal(o *Store) bool {
	a, err1 := s.Snapshot()
	b, err2 := o.Snapshot()
	return err1 == nil && err2 == nil && string(a) == string(b)
}

// Merge joins a snapshot of another store (Snapshot's bytes) into s: each
// register keeps the write of the higher version, each list gets the
// elements it lacks in version order, the clock takes the maximum. Since a
// store is determined by the set of write sets installed in it, the result
// is the store that installed both sets: merging is installing every write
// set the other store holds, all in one step.
func (s *Store) Merge(b []byte) error {
	var o Store
	if err := o.Restore(b); err != nil {
		return err
	}
	s.clock = max(s.clock, o.clock)
	for _, k := range slices.Sorted(maps.Keys(o.keys)) {
		oc := o.keys[k]
		c := s.cell(k)
		if oc.HasReg && (!c.HasReg || c.RegVer.Less(oc.RegVer)) {
			c.Reg, c.RegVer, c.HasReg = oc.Reg, oc.RegVer, true
		}
		if len(oc.List) > 0 {
			c.List = mergeElems(c.List, oc.List)
		}
	}
	return nil
}

// mergeElems is the sorted union of two version-sorted lists.
func mergeElems(a, b []elem) []elem {
	out := make([]elem, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].less(b[j]):
			out = append(out, a[i])
			i++
		case b[j].less(a[i]):
			out = append(out, b[j])
			j++
		default: // the same element
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// RaiseClock makes every later version of this store exceed floor.
func (s *Store) RaiseClock(floor int64) { s.clock = max(s.clock, floor) }
