package elle

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The tables in this file transcribe Elle's elle.consistency-model: which
// consistency models imply which, which anomalies each model directly
// proscribes, and which anomalies imply which. From them follow the set of
// anomalies a choice of models prohibits and the :not / :also-not boundary
// of a set of anomalies, exactly as Elle computes them. Names are Elle's.

// canonicalNames maps friendly model names to Elle's canonical ones.
var canonicalNames = map[string]string{
	"consistent-view":                 "PL-2+",
	"conflict-serializable":           "PL-3",
	"cursor-stability":                "PL-CS",
	"forward-consistent-view":         "PL-FCV",
	"monotonic-snapshot-read":         "PL-MSR",
	"monotonic-view":                  "PL-2L",
	"read-committed":                  "PL-2",
	"read-uncommitted":                "PL-1",
	"repeatable-read":                 "PL-2.99",
	"serializable":                    "PL-3",
	"snapshot-isolation":              "PL-SI",
	"strict-serializable":             "PL-SS",
	"strong-serializable":             "PL-SS",
	"update-serializable":             "PL-3U",
	"strong-session-read-uncommitted": "strong-session-PL-1",
	"strong-session-read-committed":   "strong-session-PL-2",
	"strong-read-uncommitted":         "strong-PL-1",
	"strong-read-committed":           "strong-PL-2",
}

// friendlyNames maps canonical names back. Where two friendly names share a
// canonical one, Elle prints serializable for PL-3; for PL-SS we print
// strict-serializable, the name Maelstrom's users pass.
var friendlyNames = map[string]string{
	"PL-2+": "consistent-view", "PL-3": "serializable", "PL-CS": "cursor-stability",
	"PL-FCV": "forward-consistent-view", "PL-MSR": "monotonic-snapshot-read",
	"PL-2L": "monotonic-view", "PL-2": "read-committed", "PL-1": "read-uncommitted",
	"PL-2.99": "repeatable-read", "PL-SI": "snapshot-isolation", "PL-SS": "strict-serializable",
	"PL-3U":               "update-serializable",
	"strong-session-PL-1": "strong-session-read-uncommitted",
	"strong-session-PL-2": "strong-session-read-committed",
	"strong-PL-1":         "strong-read-uncommitted",
	"strong-PL-2":         "strong-read-committed",
}

// modelImplies is Elle's models graph before canonicalisation: a history
// satisfying the key satisfies every listed model.
var modelImplies = map[string][]string{
	"causal-cerone":                     {"read-atomic"},
	"consistent-view":                   {"cursor-stability", "monotonic-view"},
	"conflict-serializable":             {"view-serializable"},
	"cursor-stability":                  {"read-committed", "PL-2"},
	"forward-consistent-view":           {"consistent-view"},
	"PL-2":                              {"PL-1"},
	"PL-3":                              {"repeatable-read", "update-serializable"},
	"update-serializable":               {"forward-consistent-view"},
	"monotonic-atomic-view":             {"read-committed"},
	"monotonic-view":                    {"PL-2"},
	"monotonic-snapshot-read":           {"PL-2"},
	"parallel-snapshot-isolation":       {"causal-cerone", "ROLA"},
	"prefix":                            {"causal-cerone"},
	"read-atomic":                       {"monotonic-atomic-view"},
	"read-committed":                    {"read-uncommitted"},
	"repeatable-read":                   {"cursor-stability", "monotonic-atomic-view"},
	"ROLA":                              {"read-atomic"},
	"serializable":                      {"repeatable-read", "snapshot-isolation", "view-serializable"},
	"session-serializable":              {"1SR"},
	"snapshot-isolation":                {"forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read", "parallel-snapshot-isolation", "prefix"},
	"strict-serializable":               {"PL-3", "serializable", "linearizable", "snapshot-isolation", "strong-snapshot-isolation", "strong-session-serializable"},
	"strong-session-PL-1":               {"PL-1"},
	"strong-session-PL-2":               {"PL-2", "strong-session-PL-1"},
	"strong-PL-1":                       {"strong-session-PL-1"},
	"strong-PL-2":                       {"strong-session-PL-2", "strong-PL-1"},
	"strong-session-serializable":       {"serializable", "strong-session-snapshot-isolation"},
	"strong-session-snapshot-isolation": {"snapshot-isolation", "strong-session-PL-2"},
	"strong-serializable":               {"session-serializable"},
	"strong-snapshot-isolation":         {"strong-session-snapshot-isolation", "strong-PL-2"},
	"linearizable":                      {"sequential"},
	"sequential":                        {"causal"},
	"causal":                            {"writes-follow-reads", "PRAM"},
	"PRAM":                              {"monotonic-reads", "monotonic-writes", "read-your-writes"},
}

// directProscribed is Elle's direct-proscribed-anomalies, keyed by the
// friendly or canonical name Elle writes (canonicalised when loaded).
var directProscribed = []struct {
	model     string
	anomalies []string
}{
	{"causal-cerone", []string{"internal", "G1a"}},
	{"cursor-stability", []string{"G1", "G-cursor", "lost-update"}},
	{"monotonic-view", []string{"G1", "G-monotonic"}},
	{"monotonic-snapshot-read", []string{"G1", "G-MSR"}},
	{"consistent-view", []string{"G1", "G-single"}},
	{"forward-consistent-view", []string{"G1", "G-SIb"}},
	{"parallel-snapshot-isolation", []string{"internal", "G1a"}},
	{"PL-3", []string{"G1", "G2", "predicate-read-miss", "PL-3-cycle-exists"}},
	{"PL-2", []string{"G1", "PL-2-cycle-exists"}},
	{"PL-1", []string{"G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"}},
	{"prefix", []string{"internal", "G1a"}},
	{"serializable", []string{"internal"}},
	{"snapshot-isolation", []string{"internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"}},
	{"read-atomic", []string{"internal", "G1a", "future-read"}},
	{"repeatable-read", []string{"G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"}},
	{"ROLA", []string{"lost-update"}},
	{"strict-serializable", []string{"G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"}},
	{"strong-session-PL-1", []string{"strong-session-PL-1-cycle-exists", "G0-process"}},
	{"strong-session-PL-2", []string{"strong-session-PL-2-cycle-exists", "G1c-process"}},
	{"strong-PL-1", []string{"strong-PL-1-cycle-exists", "G0-realtime"}},
	{"strong-PL-2", []string{"strong-PL-2-cycle-exists", "G1c-realtime"}},
	{"strong-session-snapshot-isolation", []string{"internal", "G1-process", "G-nonadjacent-process", "strong-session-snapshot-isolation-cycle-exists"}},
	{"strong-snapshot-isolation", []string{"internal", "G1-realtime", "G-nonadjacent-realtime", "strong-snapshot-isolation-cycle-exists"}},
	{"strong-session-serializable", []string{"G1-process", "G2-process", "strong-session-serializable-cycle-exists"}},
	{"update-serializable", []string{"G1", "G-update"}},
}

// impliedAnomalies is Elle's implied-anomalies: the presence of the key
// implies the presence of every listed anomaly.
var impliedAnomalies = map[string][]string{
	"G0":                          {"G1c", "G0-process"},
	"G0-process":                  {"G1c-process", "G0-realtime"},
	"G0-realtime":                 {"G1c-realtime"},
	"G1a":                         {"G1"},
	"G1b":                         {"G1"},
	"G1c":                         {"G1", "G1c-process"},
	"G1c-process":                 {"G1c-realtime", "G1-process"},
	"G1c-realtime":                {"G1-realtime"},
	"G1":                          {"G1-process"},
	"G1-process":                  {"G1-realtime"},
	"G-single-item":               {"G-single", "G-single-item-process", "G-nonadjacent-item"},
	"G-single-item-process":       {"G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"},
	"G-single-item-realtime":      {"G-single-realtime", "G-nonadjacent-item-realtime"},
	"G-single":                    {"G-nonadjacent", "GSIb", "G-single-process"},
	"G-single-process":            {"G-nonadjacent-process", "G-single-realtime"},
	"G-single-realtime":           {"G-nonadjacent-realtime"},
	"G-nonadjacent-item":          {"G-nonadjacent", "G2-item", "G-nonadjacent-item-process"},
	"G-nonadjacent-item-process":  {"G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"},
	"G-nonadjacent-item-realtime": {"G2-item-realtime", "G-nonadjacent-realtime"},
	"G-nonadjacent":               {"G2", "G-nonadjacent-process"},
	"G-nonadjacent-process":       {"G2-process", "G-nonadjacent-realtime"},
	"G-nonadjacent-realtime":      {"G2-realtime"},
	"G2":                          {"G2-process"},
	"G2-item":                     {"G2", "G2-item-process"},
	"G2-item-process":             {"G2-process", "G2-item-realtime"},
	"G2-item-realtime":            {"G2-realtime"},
	"G2-process":                  {"G2-realtime"},
	"GSIa":                        {"GSI"},
	"GSIb":                        {"GSI"},
	"incompatible-order":          {"G1a"},
	"future-read":                 {"G1c"},
	"dirty-update":                {"G1a"},
	"lost-update":                 {"write-skew", "G2-item"},
	"write-skew":                  {"G2"},
	// eddy's addition: a read of a value no transaction wrote. Elle skips
	// such reads (rw-register) or stops with an error (list-append); eddy
	// reports them under :eddy-only, as a kind of aborted read, when the
	// models prohibit G1a (setAsideEddyOnly).
	"garbage-read": {"G1a"},
}

// modelGraph is the canonical form of the tables above, built once per
// check (cheap) so that the package keeps no mutable state.
type modelGraph struct {
	implies    map[string][]string // canonical model -> weaker canonical models
	impliedBy  map[string][]string // canonical model -> stronger canonical models
	proscribes map[string][]string // canonical model -> anomalies
	proscriber map[string][]string // anomaly -> canonical models proscribing it
	anomOut    map[string][]string // anomaly -> implied anomalies
	anomIn     map[string][]string // anomaly -> anomalies implying it
	all        map[string]bool     // every model name, friendly or canonical
}

func canonical(m string) string {
	if c, ok := canonicalNames[m]; ok {
		return c
	}
	return m
}

func friendly(m string) string {
	if f, ok := friendlyNames[m]; ok {
		return f
	}
	return m
}

func newModelGraph() *modelGraph {
	g := &modelGraph{
		implies: map[string][]string{}, impliedBy: map[string][]string{},
		proscribes: map[string][]string{}, proscriber: map[string][]string{},
		anomOut: map[string][]string{}, anomIn: map[string][]string{},
		all: map[string]bool{},
	}
	for m, weaker := range modelImplies {
		cm := canonical(m)
		g.all[cm] = true
		for _, w := range weaker {
			cw := canonical(w)
			g.all[cw] = true
			g.implies[cm] = appendNew(g.implies[cm], cw)
			g.impliedBy[cw] = appendNew(g.impliedBy[cw], cm)
		}
	}
	for f, c := range canonicalNames {
		g.all[f], g.all[c] = true, true
	}
	for _, d := range directProscribed {
		cm := canonical(d.model)
		for _, a := range d.anomalies {
			g.proscribes[cm] = appendNew(g.proscribes[cm], a)
			g.proscriber[a] = appendNew(g.proscriber[a], cm)
		}
	}
	for a, implied := range impliedAnomalies {
		for _, b := range implied {
			g.anomOut[a] = appendNew(g.anomOut[a], b)
			g.anomIn[b] = appendNew(g.anomIn[b], a)
		}
	}
	return g
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

// closure is a breadth-first search from starts (included) along next.
func closure(starts []string, next map[string][]string) map[string]bool {
	seen := map[string]bool{}
	queue := append([]string(nil), starts...)
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if seen[x] {
			continue
		}
		seen[x] = true
		queue = append(queue, next[x]...)
	}
	return seen
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// prohibited is Elle's anomalies-prohibited-by: every anomaly that cannot be
// present if all the (canonicalised) models hold.
func (g *modelGraph) prohibited(models []string) map[string]bool {
	cms := make([]string, len(models))
	for i, m := range models {
		cms[i] = canonical(m)
	}
	var direct []string
	for m := range closure(cms, g.implies) {
		direct = append(direct, g.proscribes[m]...)
	}
	return closure(direct, g.anomIn)
}

// impossibleModels is Elle's anomalies->impossible-models.
func (g *modelGraph) impossibleModels(anomalies []string) map[string]bool {
	var ms []string
	for a := range closure(anomalies, g.anomOut) {
		ms = append(ms, g.proscriber[a]...)
	}
	return closure(ms, g.impliedBy)
}

// boundary is Elle's friendly-boundary: the weakest models the anomalies
// rule out (not) and the stronger ones they rule out too (also-not), with
// friendly names, sorted.
func (g *modelGraph) boundary(anomalies []string) (not, alsoNot []string) {
	impossible := g.impossibleModels(anomalies)
	weakest := map[string]bool{}
	for m := range impossible {
		covered := false
		for w := range closure([]string{m}, g.implies) {
			if w != m && impossible[w] {
				covered = true
				break
			}
		}
		if !covered {
			weakest[m] = true
		}
	}
	fn := map[string]bool{}
	fa := map[string]bool{}
	for m := range impossible {
		if weakest[m] {
			fn[friendly(m)] = true
		} else {
			fa[friendly(m)] = true
		}
	}
	return sortedKeys(fn), sortedKeys(fa)
}

// KnownModel reports whether Elle knows a consistency model by this name.
func KnownModel(name string) bool { return newModelGraph().all[name] }

// Models lists every consistency model name Elle accepts, sorted.
func Models() []string { return sortedKeys(newModelGraph().all) }

// ParseModels reads --consistency-models. Maelstrom splits on a comma
// surrounded by white space ("a , b"); eddy also accepts "a,b". Every name
// must be one Elle knows.
func ParseModels(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			continue
		}
		name = strings.TrimPrefix(name, ":")
		if !KnownModel(name) {
			return nil, fmt.Errorf("unknown consistency model %q; known models are %s", name, strings.Join(Models(), ", "))
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no consistency model in %q", s)
	}
	return out, nil
}

// Prohibited lists, sorted, the anomalies that make a history invalid under
// all the given models (Elle's prohibited-anomaly-types).
func Prohibited(models []string) []string {
	return sortedKeys(newModelGraph().prohibited(models))
}
