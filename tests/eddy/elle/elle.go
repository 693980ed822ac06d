// Package elle is eddy's dependency-graph checker for transactional
// histories, in the spirit of Jepsen's Elle (which is Clojure; its Go port
// cannot be fetched here): it reads a txn-list-append or txn-rw-register
// history, finds the anomalies visible in single transactions and single
// keys (internal, G1a, G1b, dirty update, lost update, duplicate elements,
// incompatible orders, cyclic versions, garbage reads), builds the ww / wr /
// rw dependency graph (plus realtime or process edges when the checked
// consistency models need them), and classifies its cycles as G0, G1c,
// G-single, G-nonadjacent and G2-item with their -process and -realtime
// variants. Whether an anomaly fails the test depends on the consistency
// models, through Elle's own model and anomaly tables (models.go).
//
// Results have Elle's shape: {:valid? :anomaly-types :anomalies :not
// :also-not}, with a human-readable explanation in every case; the full
// explanations go to elle/<anomaly>.txt in the run folder.
//
// The verdict is Maelstrom's. What eddy finds beyond Elle is reported
// under :eddy-only and does not change :valid? (the CLI's --strict makes
// it count): reads of values no transaction wrote (garbage reads, which
// Elle's rw-register skips and its list-append stops on), rw-register's
// future reads (see setAsideEddyOnly), and, for rw-register, what eddy's extended
// version inference finds: when the models make every key linearizable
// (strict-serializable) the version order also follows real time, which
// is what makes G0 detectable (Maelstrom's issue #56), and indeterminate
// writes take part in the dependency graph.
package elle

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// Kind is the transactional workload a history comes from.
type Kind int8

const (
	ListAppend Kind = iota // txn-list-append: [:append k v], reads return lists
	RWRegister             // txn-rw-register: [:w k v], reads return a value
)

func (k Kind) String() string {
	if k == RWRegister {
		return "rw-register"
	}
	return "list-append"
}

// DefaultModel is Elle's and Maelstrom's default consistency model.
const DefaultModel = "strict-serializable"

// Options configure a check.
type Options struct {
	Kind Kind
	// Models are the consistency models the history must satisfy (any name
	// Elle knows); empty means strict-serializable.
	Models []string
	// WriteFile, when set, receives elle/<anomaly>.txt explanations, with
	// names relative to the run folder.
	WriteFile func(name string, data []byte) error
	// CycleSearchTimeout bounds the typed cycle search in each strongly
	// connected component (Elle: 1 s); past it the component reports
	// :cycle-search-timeout and one cycle it contains.
	CycleSearchTimeout time.Duration
	// MaxReported is how many cases of each anomaly type the results keep
	// (default 8); elle/<anomaly>.txt keeps up to maxStored.
	MaxReported int
	// Strict makes eddy-only findings fail the check (:valid? false), as
	// the CLI's --strict does for a whole run; tests that use this checker
	// as an oracle for a database want it.
	Strict bool
}

// maxStored bounds the cases of one anomaly type held in memory and
// written to a file.
const maxStored = 1000

// unknownTypes are the anomalies that make a result :unknown, not false.
var unknownTypes = []string{"empty-transaction-graph", "cycle-search-timeout"}

// anomaly is one case of an anomaly type.
type anomaly struct {
	data *history.Map
	text string // the one-line explanation
	txns []*txn // the transactions involved, for the Let section
	// steps is a cycle's explanation, line by line (cycles only).
	steps []string
}

// anomalies collects the cases found, by type.
type anomalies struct {
	byType map[string][]anomaly
	counts map[string]int
}

func newAnomalies() *anomalies {
	return &anomalies{byType: map[string][]anomaly{}, counts: map[string]int{}}
}

func (an *anomalies) add(typ string, data *history.Map, text string, txns ...*txn) {
	an.addCase(typ, anomaly{data: data, text: text, txns: txns})
}

func (an *anomalies) addCase(typ string, a anomaly) {
	an.counts[typ]++
	if len(an.byType[typ]) < maxStored {
		an.byType[typ] = append(an.byType[typ], a)
	}
}

func (an *anomalies) types() []string {
	out := make([]string, 0, len(an.counts))
	for t := range an.counts {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// explainer says why b depends on a through one data relation.
type explainer interface {
	explain(a, b *txn, r rel) (*history.Map, func(an, bn string) string)
	edges(b *graphBuilder)
}

// Check checks a txn-list-append or txn-rw-register history.
func Check(h history.History, o Options) *history.Map {
	res, err := check(h, o)
	if err != nil {
		return history.NewMap().Set("valid?", checker.Unknown).Set("error", err.Error())
	}
	return res
}

func check(h history.History, o Options) (*history.Map, error) {
	mg := newModelGraph()
	models := o.Models
	if len(models) == 0 {
		models = []string{DefaultModel}
	}
	for _, m := range models {
		if !mg.all[m] {
			return nil, fmt.Errorf("unknown consistency model %q", m)
		}
	}
	if o.CycleSearchTimeout <= 0 {
		o.CycleSearchTimeout = time.Second
	}
	if o.MaxReported <= 0 {
		o.MaxReported = 8
	}
	prohibited := mg.prohibited(models)
	reportable := map[string]bool{}
	for a := range prohibited {
		reportable[a] = true
	}
	for _, a := range unknownTypes {
		reportable[a] = true
	}
	needRealtime, needProcess := false, false
	for a := range reportable {
		needRealtime = needRealtime || strings.HasSuffix(a, "-realtime")
		needProcess = needProcess || strings.HasSuffix(a, "-process")
	}
	linearizableKeys := closure(canonicalAll(models), mg.implies)["linearizable"]

	txns, err := parseTxns(h, o.Kind)
	if err != nil {
		return nil, err
	}
	p := &pass{o: o, mg: mg, prohibited: prohibited, reportable: reportable,
		needRealtime: needRealtime, needProcess: needProcess}
	out, an, eddyOnly, err := p.run(txns, false, false)
	if err != nil {
		return nil, err
	}
	if an == nil {
		if o.Strict {
			out.Set("valid?", false) // an element nobody appended
		}
		return out, nil // Elle stops on this history
	}
	// Maelstrom's Elle infers rw-register versions from writes following
	// reads only (wfr-keys), and relates transactions only through
	// committed ones. eddy's own inference adds realtime version order
	// when every key must be linearizable and edges through indeterminate
	// writes; what only that finds is eddy-only.
	if o.Kind == RWRegister && (linearizableKeys || infoWrites(txns)) {
		full, fan, _, err := p.run(txns, linearizableKeys, true)
		if err == nil && fan != nil {
			extra := extendedFindings(out, full, o.MaxReported)
			eddyOnly = append(eddyOnly, extra...)
			if o.WriteFile != nil && len(extra) > 0 {
				if err := writeFiles(o.WriteFile, "elle/eddy-only/", fan, onlyTypes(extra)); err != nil {
					out.Set("error", err.Error())
				}
			}
		}
	}
	if len(eddyOnly) > 0 {
		out.Set(checker.EddyOnlyKey, eddyOnly)
		if o.Strict {
			out.Set("valid?", false)
		}
	}
	if o.WriteFile != nil {
		if err := writeFiles(o.WriteFile, "elle/", an, reportable); err != nil {
			out.Set("error", err.Error())
		}
	}
	return out, nil
}

// pass is one analysis of the transactions under fixed models.
type pass struct {
	o                         Options
	mg                        *modelGraph
	prohibited, reportable    map[string]bool
	needRealtime, needProcess bool
}

// run analyses txns and returns the results map, the anomalies found and
// the garbage reads set aside as eddy-only. realtimeVersions and
// infoEdges select eddy's extended rw-register inference. When Elle would
// stop on the history, an is nil and out is its :unknown result.
func (p *pass) run(txns []*txn, realtimeVersions, infoEdges bool) (out *history.Map, an *anomalies, eddyOnly []any, err error) {
	o := p.o
	an = newAnomalies()
	var ex explainer
	switch o.Kind {
	case ListAppend:
		la, err := analyseListAppend(txns, an)
		if err != nil {
			return nil, nil, nil, err
		}
		ex = la
	case RWRegister:
		rr, err := analyseRWRegister(txns, realtimeVersions, infoEdges, an)
		if err != nil {
			return nil, nil, nil, err
		}
		ex = rr
	default:
		return nil, nil, nil, fmt.Errorf("unknown workload kind %d", o.Kind)
	}
	eddyOnly, elleError := setAsideEddyOnly(an, ex, p.prohibited, o.MaxReported)
	if elleError != "" {
		// Elle itself stops on this history; Maelstrom's compose turns
		// that into an :unknown workload result.
		return history.NewMap().Set("valid?", checker.Unknown).Set("error", elleError).
			Set(checker.EddyOnlyKey, eddyOnly), nil, nil, nil
	}
	b := newGraphBuilder()
	ex.edges(b)
	switch {
	case p.needRealtime:
		addRealtime(b, txns)
	case p.needProcess:
		addProcess(b, txns)
	}
	g := b.build(len(txns))
	if len(g.adj) == 0 {
		an.counts["empty-transaction-graph"]++
		an.byType["empty-transaction-graph"] = []anomaly{{text: "No dependency between any two transactions could be inferred."}}
	}
	cs := newCycleSearch(g, p.mg, o.CycleSearchTimeout)
	for _, r := range cs.run() {
		recordSCC(an, r, txns, g, ex, p.mg)
	}
	removeRedundantCycleExists(an, p.mg)

	out = resultMap(an, p.prohibited, p.reportable, p.mg, o.MaxReported)
	if o.Kind == RWRegister {
		maelstromRWWrapper(out)
	}
	return out, an, eddyOnly, nil
}

// infoWrites reports whether an indeterminate transaction wrote anything.
func infoWrites(txns []*txn) bool {
	for _, t := range txns {
		if t.typ == history.Info && slices.ContainsFunc(t.mops, func(m mop) bool { return m.f != fRead }) {
			return true
		}
	}
	return false
}

// extendedFindings lists the anomaly types of eddy's extended analysis
// (full) that Maelstrom's (elle) does not report, as eddy-only findings.
func extendedFindings(elle, full *history.Map, maxReported int) []any {
	types := func(m *history.Map) []any {
		v, _ := m.Get("anomaly-types")
		xs, _ := v.([]any)
		return xs
	}
	have := map[any]bool{}
	for _, t := range types(elle) {
		have[t] = true
	}
	cases, _ := full.Get("anomalies")
	counts, _ := full.Get("anomaly-counts")
	var out []any
	for _, t := range types(full) {
		if have[t] {
			continue
		}
		kw, _ := t.(history.Keyword)
		f := history.NewMap().Set("anomaly", kw)
		if cm, ok := counts.(*history.Map); ok {
			if n, ok := cm.Get(string(kw)); ok {
				f.Set("count", n)
			}
		}
		f.Set("explanation", "Found only by eddy's extended rw-register inference: realtime version order when "+
			"the models make every key linearizable, and dependencies through indeterminate (:info) writes. "+
			"Maelstrom's Elle infers versions from writes that follow reads and relates committed transactions "+
			"only, so it does not report this. Run with --strict to make it fail the test; explanations in elle/eddy-only/.")
		if am, ok := cases.(*history.Map); ok {
			if c, ok := am.Get(string(kw)); ok {
				if list, ok := c.([]any); ok && len(list) > maxReported {
					c = list[:maxReported]
				}
				f.Set("cases", c)
			}
		}
		out = append(out, f)
	}
	return out
}

// onlyTypes is the set of anomaly types of eddy-only findings.
func onlyTypes(findings []any) map[string]bool {
	out := map[string]bool{}
	for _, f := range findings {
		if m, ok := f.(*history.Map); ok {
			if a, ok := m.Get("anomaly"); ok {
				out[string(a.(history.Keyword))] = true
			}
		}
	}
	return out
}

func canonicalAll(ms []string) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = canonical(m)
	}
	return out
}

// recordSCC turns one component's findings into anomaly cases.
func recordSCC(an *anomalies, r sccResult, txns []*txn, g *graph, ex explainer, mg *modelGraph) {
	for _, e := range r.exists {
		idx := make([]any, 0, min(len(e.scc), 32))
		var sorted []int64
		for _, v := range e.scc {
			sorted = append(sorted, txns[v].op.Index)
		}
		slices.Sort(sorted)
		for _, i := range sorted[:min(len(sorted), 32)] {
			idx = append(idx, i)
		}
		sub := []any{history.Keyword("union")}
		for _, s := range e.spec.subgraph {
			sub = append(sub, history.Keyword(s))
		}
		if len(e.spec.subgraph) == 1 {
			sub = []any{history.Keyword(e.spec.subgraph[0])}
		}
		typ := e.model + "-cycle-exists"
		an.add(typ, history.NewMap().Set("type", history.Keyword(typ)).
			Set("not", history.Keyword(friendly(e.model))).
			Set("subgraph", sub).Set("scc-size", int64(len(e.scc))).Set("scc", idx),
			fmt.Sprintf("A cycle exists among %d transactions over %s edges, so %s cannot hold (transaction indices %s).",
				len(e.scc), strings.Join(e.spec.subgraph, "/"), friendly(e.model), render(idx)))
	}
	for _, c := range r.cycles {
		an.addCase(c.typ, explainCycle(c, txns, g, ex))
	}
	for _, t := range r.timeouts {
		nf := make([]any, len(t.notFound))
		for i, x := range t.notFound {
			nf[i] = history.Keyword(x)
		}
		an.add("cycle-search-timeout", history.NewMap().Set("type", history.Keyword("cycle-search-timeout")).
			Set("anomaly-spec-type", history.Keyword(t.searching)).Set("does-not-contain", nf).
			Set("scc-size", int64(t.sccSize)),
			fmt.Sprintf("The search for a %s cycle among %d strongly connected transactions ran out of time; it found none of %s before.",
				t.searching, t.sccSize, render(nf)))
	}
}

// explainCycle renders a cycle as Elle does: the transactions, then why
// each precedes the next, ending in a contradiction.
func explainCycle(c foundCycle, txns []*txn, g *graph, ex explainer) anomaly {
	var ops, steps []any
	var lines []string
	var involved []*txn
	for _, st := range c.steps {
		a, b := txns[st.from], txns[st.to]
		involved = append(involved, a)
		ops = append(ops, opMap(a))
		var data *history.Map
		var say func(an, bn string) string
		switch st.r {
		case relRealtime:
			data = history.NewMap().Set("type", history.Keyword("realtime")).
				Set("completed", a.comp).Set("invoked", b.inv)
			say = func(an, bn string) string {
				dt := float64(b.invTime-a.op.Time) / 1e9
				return fmt.Sprintf("%s completed at index %d, %.3f seconds before the invocation of %s, at index %d", an, a.comp, max(dt, 0), bn, b.inv)
			}
		case relProcess:
			data = history.NewMap().Set("type", history.Keyword("process")).Set("process", a.process)
			say = func(an, bn string) string { return fmt.Sprintf("process %d executed %s before %s", a.process, an, bn) }
		default:
			data, say = ex.explain(a, b, st.r)
			if data == nil {
				data = history.NewMap().Set("type", history.Keyword(st.r.name()))
				say = func(an, bn string) string { return fmt.Sprintf("%s -%s-> %s", an, st.r.name(), bn) }
			}
		}
		steps = append(steps, data)
		line := fmt.Sprintf("%s < %s, because %s", txnName(a), txnName(b), say(txnName(a), txnName(b)))
		lines = append(lines, line)
	}
	ops = append(ops, opMap(txns[c.steps[0].from]))
	for i := range lines {
		if i == len(lines)-1 {
			lines[i] = "However, " + lines[i] + ": a contradiction!"
		} else {
			lines[i] += "."
		}
	}
	return anomaly{
		data: history.NewMap().Set("type", history.Keyword(c.typ)).Set("cycle", ops).Set("steps", steps),
		text: strings.Join(lines, " "),
		txns: involved, steps: lines,
	}
}

// removeRedundantCycleExists is Elle's remove-redundant-cycle-exists: a
// cycle-exists marker adds nothing once another anomaly rules its model out.
func removeRedundantCycleExists(an *anomalies, mg *modelGraph) {
	var other []string
	for t := range an.counts {
		if !strings.HasSuffix(t, "-cycle-exists") {
			other = append(other, t)
		}
	}
	impossible := mg.impossibleModels(other)
	for _, spec := range cycleExistsSpecs {
		if impossible[spec.model] {
			typ := spec.model + "-cycle-exists"
			delete(an.counts, typ)
			delete(an.byType, typ)
		}
	}
}

// resultMap is Elle's result-map.
func resultMap(an *anomalies, prohibited, reportable map[string]bool, mg *modelGraph, maxReported int) *history.Map {
	var rep []string
	bad := false
	for _, t := range an.types() {
		if reportable[t] {
			rep = append(rep, t)
			bad = bad || prohibited[t]
		}
	}
	if len(rep) == 0 {
		return history.NewMap().Set("valid?", true)
	}
	out := history.NewMap()
	if bad {
		out.Set("valid?", false)
	} else {
		out.Set("valid?", checker.Unknown)
	}
	types := make([]any, len(rep))
	cases := history.NewMap()
	counts := history.NewMap()
	for i, t := range rep {
		types[i] = history.Keyword(t)
		var list []any
		for _, a := range an.byType[t] {
			if len(list) == maxReported {
				break
			}
			if a.data == nil {
				list = nil
				break
			}
			d := a.data
			if a.text != "" {
				d = cloneMap(d).Set("explanation", a.text)
			}
			list = append(list, d)
		}
		if list == nil {
			cases.Set(t, true) // Elle's {:empty-transaction-graph true}
		} else {
			cases.Set(t, list)
		}
		counts.Set(t, int64(an.counts[t]))
	}
	out.Set("anomaly-types", types).Set("anomalies", cases)
	not, alsoNot := mg.boundary(an.types())
	out.Set("not", keywords(not)).Set("also-not", keywords(alsoNot))
	out.Set("anomaly-counts", counts)
	return out
}

func cloneMap(m *history.Map) *history.Map {
	c := history.NewMap()
	c.String, c.NumKeys = m.String, m.NumKeys
	for _, k := range m.Keys() {
		v, _ := m.Get(k)
		c.Set(k, v)
	}
	return c
}

func keywords(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = history.Keyword(x)
	}
	return out
}

// maelstromRWWrapper is Maelstrom's txn-rw-register checker around Elle's:
// :cycle-search-timeout is dropped from the anomaly types, and the history
// is valid exactly when no anomaly type remains.
func maelstromRWWrapper(out *history.Map) {
	raw, ok := out.Get("anomaly-types")
	if !ok {
		return
	}
	var kept []any
	for _, t := range raw.([]any) {
		if t != history.Keyword("cycle-search-timeout") {
			kept = append(kept, t)
		}
	}
	if kept == nil {
		kept = []any{}
	}
	out.Set("anomaly-types", kept)
	out.Set("valid?", len(kept) == 0)
}

// writeFiles writes <dir><type>.txt for every reportable anomaly type.
func writeFiles(write func(string, []byte) error, dir string, an *anomalies, reportable map[string]bool) error {
	for _, t := range an.types() {
		if !reportable[t] {
			continue
		}
		var b strings.Builder
		if n := an.counts[t]; n > len(an.byType[t]) {
			fmt.Fprintf(&b, "%d cases; the first %d follow.\n\n", n, len(an.byType[t]))
		}
		for i, a := range an.byType[t] {
			if i > 0 {
				b.WriteString("\n\n")
			}
			fmt.Fprintf(&b, "%s #%d\n", t, i)
			if len(a.txns) > 0 {
				b.WriteString("Let:\n")
				seen := map[*txn]bool{}
				for _, x := range a.txns {
					if seen[x] {
						continue
					}
					seen[x] = true
					op, _ := edn.OpEDN(*x.op)
					fmt.Fprintf(&b, "  %s = %s\n", txnName(x), op)
				}
				b.WriteString("\n")
			}
			if len(a.steps) > 0 {
				b.WriteString("Then:\n")
				for _, s := range a.steps {
					fmt.Fprintf(&b, "  - %s\n", s)
				}
			} else {
				b.WriteString(a.text + "\n")
			}
		}
		if err := write(dir+t+".txt", []byte(b.String())); err != nil {
			return err
		}
	}
	return nil
}

// --- small helpers -------------------------------------------------------

// txnName names a transaction by the history index that stands for it.
func txnName(t *txn) string { return fmt.Sprintf("T%d", t.op.Index) }

func opMap(t *txn) *history.Map { return checker.OpMap(t.op) }

// stepMap is one step of a cycle: Elle's {:type :key :value :value'}.
func stepMap(r rel, k atom, v, v2 any, hasV2 bool) *history.Map {
	m := history.NewMap().Set("type", history.Keyword(r.name())).Set("key", k.value()).Set("value", v)
	if hasV2 {
		m.Set("value'", v2)
	}
	return m
}

// render prints a history value in EDN, for explanations.
func render(v any) string {
	b, err := edn.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// setAsideEddyOnly takes out of the anomalies the types that Elle does not
// report, so that the verdict is Elle's, and returns them as eddy-only
// findings, each when the checked models prohibit what it implies.
//
// Garbage reads: Elle's rw-register gives a read of a value nobody wrote
// no wr edge and reports nothing ("a value that came out of nowhere",
// rw_register.clj's wr-graph), so such a history can be valid under
// Maelstrom; eddy reports the read, which implies G1a (an aborted or
// invented write). Elle's list-append instead stops with an assertion
// error when an element nobody appended lies in a key's version order
// (dirty-update-cases: "No transaction wrote k = v"); elleError is then
// that message, and the result is :unknown, as Maelstrom's would be.
//
// Future reads: Elle looks for them in list-append only; in rw-register a
// transaction that reads the value it writes later gives Elle only a wr
// edge to itself, which no cycle search sees. eddy reports it (it implies
// G1c).
func setAsideEddyOnly(an *anomalies, ex explainer, prohibited map[string]bool, maxReported int) (eddyOnly []any, elleError string) {
	la, isAppend := ex.(*listAppend)
	types := []string{"garbage-read"}
	if !isAppend {
		types = append(types, "future-read")
	}
	for _, typ := range types {
		n := an.counts[typ]
		if n == 0 {
			continue
		}
		cases := an.byType[typ]
		delete(an.counts, typ)
		delete(an.byType, typ)
		crash := ""
		if isAppend && typ == "garbage-read" {
			crash = la.unwrittenInOrder()
			elleError = crash
		}
		if crash == "" && !prohibited[typ] {
			continue
		}
		var list []any
		for _, c := range cases[:min(len(cases), maxReported)] {
			d := cloneMap(c.data)
			if c.text != "" {
				d.Set("explanation", c.text)
			}
			list = append(list, d)
		}
		why := ""
		switch {
		case crash != "":
			why = "Elle stops with an error on an element no transaction appended, so Maelstrom's verdict is :unknown; " +
				"eddy reports the read as an aborted or invented write."
		case typ == "garbage-read":
			why = "Elle gives a read of a value no transaction wrote no dependency and reports nothing, so Maelstrom " +
				"does not count it; eddy reports it as an aborted or invented write (it implies G1a, which the checked " +
				"consistency models prohibit)."
		default:
			why = "Elle's rw-register does not look for future reads (a transaction reading the value it writes " +
				"later), so Maelstrom does not count it; eddy reports it (it implies G1c, which the checked " +
				"consistency models prohibit)."
		}
		entry := history.NewMap().Set("anomaly", history.Keyword(typ)).Set("count", int64(n)).
			Set("explanation", why+" Run with --strict to make it fail the test.").Set("cases", list)
		eddyOnly = append(eddyOnly, entry)
	}
	return eddyOnly, elleError
}
