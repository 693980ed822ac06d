package checker

import (
	"fmt"
	"sort"
	"strconv"

	"maelkit/tests/eddy/history"
)

// maxDuplicatedShown is how many duplicated ids Jepsen lists.
const maxDuplicatedShown = 48

// UniqueIDs is Jepsen's unique-ids checker over "generate" ops
// (maelstrom-spec.md 6.2). Ok completion values are the ids (history.JSON
// from the node, or int64/string). Ids are equal when history.Key says so
// (JSON value equality: 1 and 1.0 differ).
//
// Result: {:valid? :attempted-count :acknowledged-count :duplicated-count
// :duplicated {id count} (the 48 most duplicated, sorted by id) :range [min
// max]}. Computing the range needs mutually comparable ids, all numbers or
// all strings; anything else (a mix, objects, arrays, booleans, null) makes
// Jepsen's checker throw, so the result is {:valid? :unknown :error ...}.
func UniqueIDs(h history.History) *history.Map {
	res, err := uniqueIDs(h)
	if err != nil {
		return errorResult(err.Error())
	}
	return res
}

func uniqueIDs(h history.History) (*history.Map, error) {
	var attempted, acked int64
	counts := map[string]int64{}
	var distinct []any
	for i := range h {
		op := &h[i]
		if !op.IsClient() || op.F != "generate" {
			continue
		}
		switch op.Type {
		case history.Invoke:
			attempted++
		case history.OK:
			acked++
			k := history.Key(op.Value)
			if counts[k] == 0 {
				distinct = append(distinct, op.Value)
			}
			counts[k]++
		}
	}

	keys, err := prepareSort(distinct)
	if err != nil {
		return nil, fmt.Errorf("unique-ids: cannot compute :range: %w", err)
	}
	order := make([]int, len(distinct))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return compareSortable(keys[order[a]], keys[order[b]]) < 0 })
	rng := []any{nil, nil}
	if len(order) > 0 {
		rng = []any{distinct[order[0]], distinct[order[len(order)-1]]}
	}

	// Duplicates in id order; Jepsen keeps the 48 with the highest counts
	// (ties: the greater ids, from its stable sort then reverse), then
	// prints them in id order.
	var dups []int
	for _, i := range order {
		if counts[history.Key(distinct[i])] > 1 {
			dups = append(dups, i)
		}
	}
	shown := append([]int(nil), dups...)
	sort.SliceStable(shown, func(a, b int) bool {
		return counts[history.Key(distinct[shown[a]])] < counts[history.Key(distinct[shown[b]])]
	})
	if len(shown) > maxDuplicatedShown {
		shown = shown[len(shown)-maxDuplicatedShown:]
	}
	sort.Slice(shown, func(a, b int) bool { return compareSortable(keys[shown[a]], keys[shown[b]]) < 0 })
	dupMap := history.NewMap()
	for _, i := range shown {
		k, c := idKey(distinct[i], keys[i], dupMap), counts[history.Key(distinct[i])]
		dupMap.Set(k, c)
	}

	return history.NewMap().
		Set("valid?", len(dups) == 0).
		Set("attempted-count", attempted).
		Set("acknowledged-count", acked).
		Set("duplicated-count", int64(len(dups))).
		Set("duplicated", dupMap).
		Set("range", rng), nil
}

// idKey returns the map key for an id and sets the map's key mode: numbers
// print bare (NumKeys), strings as EDN strings.
func idKey(v any, s sortable, m *history.Map) string {
	switch s.kind {
	case kindStr:
		m.String = true
		return s.s
	case kindInt:
		m.NumKeys = true
		return strconv.FormatInt(s.i, 10)
	}
	m.NumKeys = true
	return history.Key(v) // a JSON number, as the node wrote it
}
