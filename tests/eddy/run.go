package eddy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
	"maelkit/tests/eddy/nemesis"
	"maelkit/tests/eddy/netsim"
	"maelkit/tests/eddy/process"
	"maelkit/tests/eddy/report"
	"maelkit/tests/eddy/services"
	"maelkit/tests/eddy/store"
	"maelkit/tests/eddy/workload"
)

// Result is a finished run.
type Result struct {
	// Valid is true, false or history.Keyword("unknown").
	Valid   any
	Results *history.Map
	Dir     string // the run's folder under the store
	Seed    int64
	History history.History
	Journal []journal.Event
}

// CrashError means the run aborted before analysis, as Maelstrom does when a
// node fails to initialise or exits mid-test. The CLI exits 255 on it.
type CrashError struct {
	Msg string
	Dir string
}

func (e *CrashError) Error() string { return e.Msg }

// maxOutputBytesPerSec bounds each node's stdout. A node at rate 1000 with
// gossip prints well under 1 MiB/s; beyond 8 MiB/s it is flooding, and the
// journal would grow by millions of events a second.
const maxOutputBytesPerSec = 8 << 20

// initTimeout is Maelstrom's deadline for init_ok.
const initTimeout = 10 * time.Second

// Random streams derived from the seed, one per purpose, so that adding
// draws to one never shifts another.
const (
	streamWorkload = iota + 1
	streamThreads
	streamNemesis
	streamServices
)

// runner is one test run in progress.
type runner struct {
	o     Options
	res   resolved
	start time.Time
	seed  int64
	log   *slog.Logger
	out   io.Writer // the console: jepsen.log plus Options.Console

	store *store.Run
	net   *netsim.Net
	rec   *recorder
	w     *workload.Workload

	ctx    context.Context // cancelled when the run aborts
	cancel context.CancelCauseFunc

	nodes       []*nodeProc
	clientSeq   atomic.Int64
	clientMu    sync.Mutex
	clients     []*workload.Client // open setup and worker clients
	tearingDown atomic.Bool
	bg          sync.WaitGroup  // pumps and services
	bgCtx       context.Context // the pumps' and services' context
	bgCancel    context.CancelFunc
	status      status
	tempDir     string // holds one working directory per node, <tempDir>/<id>
	sb          *sandbox
	notes       *notes // the bounds hit and warnings, for the console and results
}

func rng(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// Run performs one test and returns its result. An error is a *UsageError
// (bad options), a *CrashError (the run aborted), or a failure of eddy
// itself (the store could not be written, for instance).
func Run(ctx context.Context, o Options) (*Result, error) {
	res, err := o.resolve()
	if err != nil {
		return nil, err
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano() & (1<<53 - 1)
	}
	if o.StoreRoot == "" {
		o.StoreRoot = "store"
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	// --log-net-send/--log-net-recv lines go to the console, which exists
	// once the run folder does; the network is built first so that its
	// options are checked before anything is written.
	console := &lateWriter{}
	net, err := netsim.New(netsim.Config{
		LatencyMs: o.LatencyMs, Dist: o.LatencyDist, Seed: o.Seed, Start: start,
		Log: slog.New(newNetLogHandler(console)), LogSend: o.LogNetSend, LogRecv: o.LogNetRecv,
	})
	if err != nil {
		return nil, &UsageError{msg: err.Error()}
	}
	w, err := workload.New(o.Workload, workload.Params{
		Nodes: res.nodes, Concurrency: res.concurrency, Topology: o.Topology,
		LatencyMs: o.LatencyMs, Rand: rng(o.Seed, streamWorkload),
		KeyCount: o.KeyCount, MaxTxnLength: o.MaxTxnLength, MaxWritesPerKey: o.MaxWritesPerKey,
		ConsistencyModels: o.ConsistencyModels,
	})
	if err != nil {
		return nil, &UsageError{msg: err.Error()}
	}
	st, err := store.Create(o.StoreRoot, o.Workload, start)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := st.Log()
	if o.Console != nil {
		out = io.MultiWriter(out, o.Console)
	}
	console.set(out)
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &runner{o: o, res: res, start: start, seed: o.Seed, log: log, out: out,
		store: st, net: net, rec: newRecorder(start), w: w, ctx: rctx, cancel: cancel, notes: newNotes(out)}
	fmt.Fprintf(out, "eddy: %s on %s, %d nodes, concurrency %d, seed %d\n",
		o.Workload, o.Bin, len(res.nodes), res.concurrency, o.Seed)
	if err := st.WriteTest(r.testRecord()); err != nil {
		return nil, err
	}

	crash := r.execute()
	r.teardown()
	if c := r.crashed(); c != nil {
		crash = c // a node's exit explains whatever else went wrong
	}
	if crash != nil {
		fmt.Fprintf(out, "\n%s\n", crash)
		_ = st.WriteHistory(r.rec.history())
		_ = st.WriteJournal(net.Journal())
		return nil, &CrashError{Msg: crash.Error(), Dir: st.Dir()}
	}
	return r.analyse()
}

// execute runs the phases; an error aborts the run.
func (r *runner) execute() error {
	bgCtx, bgCancel := context.WithCancel(context.Background())
	r.bgCtx, r.bgCancel = bgCtx, bgCancel
	if err := r.startServices(bgCtx); err != nil {
		return err
	}
	if err := r.startNodes(); err != nil {
		return err
	}
	if err := r.initNodes(); err != nil {
		return err
	}
	if err := r.setupClients(); err != nil {
		return err
	}
	workers, err := r.openWorkers()
	if err != nil {
		return err
	}
	stopProgress := r.progress()
	defer stopProgress()
	nem, err := r.mainPhase(workers)
	if err != nil {
		return err
	}
	if r.w.Final != nil {
		if err := r.finalPhase(workers, nem); err != nil {
			return err
		}
	}
	return context.Cause(r.ctx)
}

// --- services and nodes -------------------------------------------------

func (r *runner) startServices(ctx context.Context) error {
	sr := rng(r.seed, streamServices)
	for _, name := range services.Names {
		svc, err := services.New(name, rand.New(rand.NewPCG(sr.Uint64(), sr.Uint64())))
		if err != nil {
			return err
		}
		if err := r.net.Add(name); err != nil {
			return err
		}
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			for {
				m, err := r.net.Recv(ctx, name)
				if err != nil {
					return
				}
				reply, herr := svc.Handle(m.Src, m.Body)
				if herr != nil {
					r.log.Warn("service dropped a request", "service", name, "src", m.Src, "err", herr)
					continue
				}
				if _, err := r.net.Send(name, m.Src, reply); err != nil {
					r.log.Debug("service reply undeliverable", "service", name, "dest", m.Src, "err", err)
				}
			}
		}()
	}
	return nil
}

func (r *runner) startNodes() error {
	dir, err := os.MkdirTemp("", "eddy-nodes-")
	if err != nil {
		return err
	}
	r.tempDir = dir
	if err := r.setupSandbox(); err != nil {
		return err
	}
	for _, id := range r.res.nodes {
		if err := r.net.Add(id); err != nil {
			return err
		}
		n := &nodeProc{id: id}
		if err := r.spawn(n); err != nil {
			return fmt.Errorf("could not start node %s: %w", id, err)
		}
		r.nodes = append(r.nodes, n)
	}
	return nil
}

// processConfig is how node id's process is started, the first time and
// after every restart.
func (r *runner) processConfig(id string) process.Config {
	var onStderr func(string)
	if r.o.LogStderr {
		onStderr = func(line string) { fmt.Fprintf(r.out, "%s stderr: %s\n", id, line) }
	}
	c := process.Config{
		Bin: r.o.Bin, Args: r.o.Args, Dir: r.nodeDir(id),
		StderrPath:           r.store.NodeLogPath(id),
		MaxLineBytes:         r.o.MaxLineBytes,
		MaxOutputBytesPerSec: maxOutputBytesPerSec,
		MemoryLimitBytes:     r.o.MemoryLimitBytes,
		OnStderrLine:         onStderr,
	}
	r.sandboxConfig(id, &c)
	return c
}

// nodeDir is node id's own working directory, kept for the whole run.
func (r *runner) nodeDir(id string) string { return filepath.Join(r.tempDir, id) }

// pumpOut moves a node's stdout lines onto the network. A line that is not
// a valid envelope, or that names an unknown participant, makes Maelstrom's
// reader for that node stop: the node goes silent. We keep draining its
// output (so it never blocks) but forward nothing more. Output dropped by a
// bound is a limit of the run; a src that is not the node's own id is
// forwarded with a warning, as Maelstrom forwards it, or ends the run as a
// violation when grading.
func (r *runner) pumpOut(n *nodeProc, inc *incarnation) {
	defer r.bg.Done()
	maxEvents := int64(0)
	if r.sb != nil {
		maxEvents = r.sb.limits.MaxJournalEvents
	}
	for line := range inc.p.Lines() {
		if line.Problem != "" {
			r.log.Warn("node output", "node", n.id, "problem", line.Problem)
			fmt.Fprintf(r.store.Log(), "WARN %s: %s\n", n.id, line.Problem)
			if line.Kind != process.KindPartial {
				r.notes.limit(n.id+" "+line.Kind, fmt.Sprintf("node %s: %s", n.id, line.Problem))
			}
			continue
		}
		if inc.silent.Load() {
			continue
		}
		src, dest, body, err := parseEnvelope(line.Data)
		if err == nil && !r.net.Has(src) {
			err = fmt.Errorf("invalid src for message %s", truncate(line.Data))
		}
		if err == nil && src != n.id {
			msg := fmt.Sprintf("node %s sent a message with src %q, not its own id: %s", n.id, src, truncate(line.Data))
			if r.o.Grading {
				r.notes.limit(n.id+" src", msg)
				r.cancel(fmt.Errorf("violation: %s; grading refuses a forged src (it steps around partitions and impersonates other nodes and clients)", msg))
				inc.silent.Store(true)
				continue
			}
			r.notes.warn(n.id+" src", msg+" (forwarded, as Maelstrom does)")
		}
		if err == nil && maxEvents > 0 {
			if sent, delivered, _ := r.net.Stats(); sent+delivered >= maxEvents {
				r.notes.limit("journal", fmt.Sprintf("the run's journal reached %d events: node messages are dropped from then on", maxEvents))
				continue
			}
		}
		if err == nil {
			_, err = r.net.Send(src, dest, body)
		}
		if err != nil {
			inc.silent.Store(true)
			msg := fmt.Sprintf("Error! node %s: %v; like Maelstrom, eddy reads nothing more from this node", n.id, err)
			fmt.Fprintln(r.out, msg)
			r.log.Warn(msg)
		}
	}
}

// pumpIn delivers the node's queue to the stdin of one incarnation, one
// message at a time, until ctx ends (the incarnation is killed) or its
// stdin closes.
func (r *runner) pumpIn(ctx context.Context, n *nodeProc, inc *incarnation) {
	defer r.bg.Done()
	var buf []byte
	for {
		m, err := r.net.Recv(ctx, n.id)
		if err != nil {
			return
		}
		buf = m.AppendLine(buf[:0])
		if err := inc.p.Write(buf); err != nil {
			return
		}
	}
}

// watch aborts the run when an incarnation exits before teardown, unless
// the nemesis killed it.
func (r *runner) watch(n *nodeProc, inc *incarnation) {
	defer r.bg.Done()
	<-inc.p.Done()
	if !r.tearingDown.Load() && !inc.killed.Load() {
		n.crashed.Store(true)
		r.cancel(fmt.Errorf("node %s exited mid-test", n.id))
	}
}

// crashed reports the first node that exited before teardown, with the tail
// of its output, as Maelstrom's teardown does.
func (r *runner) crashed() error {
	for _, n := range r.nodes {
		if n.exitedEarly() {
			p := n.proc()
			msg := fmt.Sprintf("Node %s crashed with %s%s.", n.id, p.ExitStatus(), r.cgroupReason(n.id))
			sep := " "
			for _, l := range r.notes.Limits() {
				msg += fmt.Sprintf("\neddy limit: %s", l)
				sep = "\n"
			}
			return fmt.Errorf("%s%sLast lines of its output:\n%s", msg, sep, strings.Join(p.Tail(32), "\n"))
		}
	}
	return nil
}

func (n *nodeProc) exitedEarly() bool { return n.crashed.Load() }

// parseEnvelope validates one line of node output as Maelstrom does: a JSON
// object with string src and dest, a body, an optional integer id, and no
// other top-level key.
func parseEnvelope(line []byte) (src, dest string, body json.RawMessage, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil || fields == nil {
		return "", "", nil, fmt.Errorf("node printed a line that is not a JSON object: %s", truncate(line))
	}
	for k := range fields {
		switch k {
		case "src", "dest", "body", "id":
		default:
			return "", "", nil, fmt.Errorf("malformed message (disallowed key %q): %s", k, truncate(line))
		}
	}
	if json.Unmarshal(fields["src"], &src) != nil || src == "" {
		return "", "", nil, fmt.Errorf("malformed message (src must be a string): %s", truncate(line))
	}
	if json.Unmarshal(fields["dest"], &dest) != nil || dest == "" {
		return "", "", nil, fmt.Errorf("malformed message (dest must be a string): %s", truncate(line))
	}
	body, ok := fields["body"]
	if !ok {
		return "", "", nil, fmt.Errorf("malformed message (no body): %s", truncate(line))
	}
	return src, dest, body, nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// --- clients --------------------------------------------------------------

func (r *runner) nextClientID() string {
	return fmt.Sprintf("c%d", r.clientSeq.Add(1)-1)
}

type initReq struct {
	workload.Header
	NodeID  string   `json:"node_id"`
	NodeIDs []string `json:"node_ids"`
}

// initNodes sends every node its init, in parallel, from a fresh client
// each (c0..), and waits up to 10 s for init_ok.
func (r *runner) initNodes() error {
	ids := make([]string, len(r.nodes))
	for i := range r.nodes {
		ids[i] = r.nextClientID()
	}
	errs := make([]error, len(r.nodes))
	var wg sync.WaitGroup
	for i, n := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.sendInit(n.id, ids[i])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendInit sends node id its init from a fresh client and waits for
// init_ok; a restarted node gets the same init as at the start.
func (r *runner) sendInit(id, client string) error {
	c, err := workload.NewClient(r.net, client, id)
	if err != nil {
		return err
	}
	defer c.Close()
	raw, err := c.Call(r.ctx, &initReq{Header: workload.Header{Type: "init"}, NodeID: id,
		NodeIDs: slices.Clone(r.res.nodes)}, initTimeout)
	if err == nil {
		var b struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &b) != nil || b.Type != "init_ok" {
			err = fmt.Errorf("expected init_ok, got %s", truncate(raw))
		}
	}
	if err != nil {
		return fmt.Errorf("init-failed: node %s did not answer init with init_ok within %v: %w", id, initTimeout, err)
	}
	return nil
}

// setupClients opens one client per node, kept until teardown, and runs the
// workload's setup on each (broadcast's topology).
func (r *runner) setupClients() error {
	cs := make([]*workload.Client, len(r.nodes))
	for i, n := range r.nodes {
		c, err := r.w.Open(r.net, r.nextClientID(), n.id)
		if err != nil {
			return err
		}
		cs[i] = c
		r.track(c)
	}
	if r.w.Setup == nil {
		return nil
	}
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.w.Setup(r.ctx, c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *runner) track(c *workload.Client) {
	r.clientMu.Lock()
	r.clients = append(r.clients, c)
	r.clientMu.Unlock()
}

// worker is one Jepsen worker thread: bound to node thread mod N for the
// whole run, with a process id that moves on by the concurrency after every
// :info completion.
type worker struct {
	thread  int
	node    string
	process int64
	client  *workload.Client
}

func (r *runner) openWorkers() ([]*worker, error) {
	ws := make([]*worker, r.res.concurrency)
	for i := range ws {
		ws[i] = &worker{thread: i, node: r.res.nodes[i%len(r.res.nodes)], process: int64(i)}
		if err := r.openClient(ws[i]); err != nil {
			return nil, err
		}
	}
	return ws, nil
}

func (r *runner) openClient(wk *worker) error {
	c, err := r.w.Open(r.net, r.nextClientID(), wk.node)
	if err != nil {
		return err
	}
	wk.client = c
	r.track(c)
	return nil
}

// perform runs one op on wk, records it and returns its completion (an
// :info exception when no client could be opened; the run is then
// cancelled and nothing is recorded).
func (r *runner) perform(wk *worker, op workload.Op) workload.Outcome {
	if wk.client == nil {
		if err := r.openClient(wk); err != nil {
			r.cancel(err)
			return workload.Outcome{Type: history.Info, Value: op.Value, Exception: err.Error()}
		}
	}
	r.rec.invoke(wk.process, op)
	out := r.w.Invoke(r.ctx, wk.client, op)
	r.rec.complete(wk.process, op, out)
	if out.Type == history.Info {
		wk.process += int64(r.res.concurrency)
		if !r.w.Reusable {
			wk.client.Close()
			wk.client = nil
		}
	}
	return out
}

// --- phases -----------------------------------------------------------------

// mainPhase issues ops on Maelstrom's schedule (sched.go) until the time
// limit (counted from the first op), runs the nemesis alongside, then waits
// for in-flight ops.
func (r *runner) mainPhase(workers []*worker) (*nemesis.Nemesis, error) {
	var nem *nemesis.Nemesis
	phaseCtx, endPhase := context.WithCancel(r.ctx)
	defer endPhase()
	var nemDone sync.WaitGroup
	if r.res.faults.Any() {
		var err error
		nem, err = nemesis.New(nemesis.Config{Net: r.net, Nodes: r.res.nodes, Rand: rng(r.seed, streamNemesis),
			Interval: r.o.NemesisInterval, Shapes: r.res.shapes, Record: r.rec.add,
			Faults: r.res.faults, DB: nodeDB{r}, LossRate: r.res.lossRate, DuplicateRate: r.res.duplicateRate})
		if err != nil {
			return nil, err
		}
		nemDone.Add(1)
		go func() {
			defer nemDone.Done()
			if err := nem.Run(phaseCtx); err != nil {
				r.cancel(err)
			}
		}()
	}
	var inflight sync.WaitGroup
	deadline := time.Now().Add(r.o.TimeLimit)
	r.setDeadline(deadline)
	if r.o.Rate > 0 {
		pool := newPool(len(workers))
		issueOps(r.ctx, pool, newStagger(r.o.Rate, rng(r.seed, streamThreads)), deadline, func(t int) bool {
			op, more := r.w.Generator.Next(t)
			if !more {
				return false
			}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				r.perform(workers[t], op)
				pool.put(t)
			}()
			return true
		})
	}
	// The client schedule ends at its first op due at or past the deadline;
	// the nemesis keeps its time to the deadline.
	if r.o.Rate <= 0 || nem != nil {
		sleepUntil(r.ctx, deadline)
	}
	endPhase()
	nemDone.Wait()
	inflight.Wait()
	return nem, context.Cause(r.ctx)
}

// finalPhase heals the network, resumes and restarts every node, waits
// for recovery, then runs the workload's final phase: every worker thread
// takes ops from it, each after its wait, until it has none for the thread.
func (r *runner) finalPhase(workers []*worker, nem *nemesis.Nemesis) error {
	if nem != nil {
		if err := nem.Final(); err != nil {
			return err
		}
	}
	fmt.Fprintln(r.out, "Waiting for recovery...")
	r.setPhase("recovery")
	if !sleepUntil(r.ctx, time.Now().Add(r.o.Recovery)) {
		return context.Cause(r.ctx)
	}
	r.setPhase("final reads")
	fg := r.w.Final()
	var wg sync.WaitGroup
	for _, wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r.ctx.Err() == nil {
				op, wait, more := fg.Next(wk.thread)
				if !more || !sleepUntil(r.ctx, time.Now().Add(wait)) {
					return
				}
				fg.Update(wk.thread, op, r.perform(wk, op))
			}
		}()
	}
	wg.Wait()
	return context.Cause(r.ctx)
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// teardown closes clients, kills the nodes (as a process group each) and
// stops the services and pumps.
func (r *runner) teardown() {
	r.tearingDown.Store(true)
	r.clientMu.Lock()
	for _, c := range r.clients {
		c.Close()
	}
	r.clientMu.Unlock()
	var wg sync.WaitGroup
	for _, n := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.proc().Kill()
		}()
	}
	wg.Wait()
	r.closeSandbox()
	if r.bgCancel != nil {
		r.bgCancel()
	}
	r.bg.Wait()
	if r.tempDir != "" {
		_ = os.RemoveAll(r.tempDir)
	}
}

// --- analysis -----------------------------------------------------------------

func (r *runner) analyse() (*Result, error) {
	began := time.Now()
	h := r.rec.history()
	j := r.net.Journal()
	results := checkRun(checkInput{workload: r.w, history: h, journal: j, availability: r.res.availability,
		strict: r.o.Strict, start: r.start, writeFile: r.store.WriteFile})
	valid, _ := results.Get("valid?")
	r.notes.set(results)
	if err := r.store.WriteResults(results); err != nil {
		return nil, err
	}
	if err := r.store.WriteHistory(h); err != nil {
		return nil, err
	}
	if err := r.store.WriteJournal(j); err != nil {
		return nil, err
	}
	if err := report.Write(r.store.Dir(), report.Input{Results: results, History: h, Journal: j,
		Nodes: r.res.nodes, Workload: r.o.Workload, Seed: r.seed, Summary: CommandLine(r.o)}); err != nil {
		fmt.Fprintf(r.store.Log(), "WARN report: %v\n", err)
	}
	if pretty, err := edn.PrettyMarshal(results); err == nil {
		fmt.Fprintf(r.out, "\n%s\n", pretty)
	}
	took := time.Since(began)
	fmt.Fprintf(r.store.Log(), "analysis of %d events and %d journal events took %v\n", len(h), len(j), took)
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "analysis of %d events and %d journal events took %v\n", len(h), len(j), took.Round(time.Millisecond))
	}
	printWarnings(r.out, results, r.o.Strict)
	fmt.Fprintf(r.out, "\n%s\n", FinalLine(valid))
	return &Result{Valid: valid, Results: results, Dir: r.store.Dir(), Seed: r.seed, History: h, Journal: j}, nil
}

// lateWriter forwards to a writer set later; writes before that are dropped.
type lateWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lateWriter) set(w io.Writer) {
	l.mu.Lock()
	l.w = w
	l.mu.Unlock()
}

func (l *lateWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return len(p), nil
	}
	return l.w.Write(p)
}

// FinalLine is Maelstrom's last console line for a verdict.
func FinalLine(valid any) string {
	switch valid {
	case true:
		return "Everything looks good! ヽ(‘ー`)ノ"
	case false:
		return "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻"
	}
	return "Errors occurred during analysis, but no anomalies found. ಠ~ಠ"
}
