package node

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// HostConfig says how Host runs a core with peer messages P, client
// commands C and replies R.
type HostConfig[P, C, R any] struct {
	// Build makes the core at init, when the node's id and the cluster are
	// known; an error refuses the init. A core that persists nothing uses
	// it: the node opens no store and writes no file.
	Build func(n *Node) (core.Core[P, C, R], error)
	// Durable, instead of Build, makes a core that persists: at init the
	// host opens the node's store (storage.Open in Dir, files named by the
	// node id), reads what it kept and builds the core from it: Fresh on a
	// node's first start in a run and after its disk was wiped, what an
	// earlier process of the same node wrote otherwise. The Writes of every
	// drained Output are then made durable, with one sync, before any of
	// its messages and replies is sent.
	Durable func(n *Node, rec core.Recovered) (core.Core[P, C, R], error)
	// Dir is where a Durable node keeps its store (empty: the working
	// directory, which is where eddy and Maelstrom start the node).
	Dir string
	// NoSync skips every fsync (the binaries' -sync=false): writes still
	// reach the files, and so survive the death of the process (the page
	// cache keeps them), but a power loss or an OS crash can drop or tear
	// acknowledged state. For measuring what fsync costs, not for safety.
	NoSync bool
	// StatsEvery, if positive, has a Durable node log its disk work to
	// StatsLog this often, whatever the node's log level, for the
	// measurement scripts: see Host.logStats. StatsLog nil logs nothing.
	StatsEvery time.Duration
	StatsLog   *slog.Logger
	// Tick is the real time of one core tick.
	Tick time.Duration
	// PeerTypes are the message types decoded into P and handed to Step.
	// A peer message from outside the cluster is ignored.
	PeerTypes []string
	// Reply turns a reply into the body sent to the client: a typed
	// struct, or a *maelstrom.RPCError; nil sends nothing (an outcome the
	// core cannot tell: the client times out).
	Reply func(R) any
}

// Host runs a core on a node: it builds the core at init, ticks it with
// the monotonic clock, hands it peer messages and client commands, and
// sends what it drains once per burst of input. All methods run on the
// node's loop.
type Host[P, C, R any] struct {
	n     *Node
	cfg   HostConfig[P, C, R]
	core  core.Core[P, C, R]
	peers map[string]bool
	start time.Time
	ticks int64 // core ticks so far
	// last is when the loop last advanced the core. After a stall (see
	// stallMax) client commands go unanswered while catchingUp, until the
	// node has handled the input that waited (Node.inputDrained), and then
	// until dropUntil.
	last, dropUntil time.Time
	catchingUp      bool
	// stallSeen is when the last stall was seen; stallDrops counts the
	// commands left unanswered since, for the log.
	stallSeen  time.Time
	stallDrops int
	// asked is when each command not yet answered was handed to the core
	// (by client and msg_id): a reply later than stallMax is not sent
	// (see drain). forgotAt is when entries older than askForget were
	// last dropped.
	asked    map[askKey]time.Time
	forgotAt time.Time

	store     hostStore // a Durable node's store, open from init
	openStore func(dir, id string, noSync bool, n *Node) (hostStore, error)
	exit      func(code int) // os.Exit; tests record the call instead
	dead      bool           // a write failed: the node answers nothing more

	stats hostStats // the figures StatsLog gets
}

// hostStats counts what a Durable node did since its init, for StatsLog.
type hostStats struct {
	start   time.Time // the init
	fresh   bool      // the store was blank at init (core.Recovered.Fresh)
	logAt   time.Time // the last stats line
	inputs  int64     // peer messages and client commands handed to the core
	applies int64     // drained Outputs with writes: one sync each
	answers int64     // replies sent to clients
	// Logged once each: the first Output drained while the core serves
	// (see recovering), and the first reply sent.
	serving, answered bool
}

// recovering is met by a core that must relearn its state from peers
// before it serves (lib/paxos after a blank start); the stats say when it
// first serves.
type recovering interface{ Recovering() bool }

// hostStore is what the host needs of a node's store; tests fake it to
// watch the order of writes and sends.
type hostStore interface {
	Recover() (core.Recovered, error)
	Apply(ws []core.Write) error
	Close() error
	// Stats is what the store wrote and synced since it was opened.
	Stats() storeStats
}

// storeStats is a store's disk work: its log's and its stable value's
// (storage.LogStats), and every call to the file system (fileStats).
type storeStats struct {
	log, state storage.LogStats
	files      fileStats
}

// askKey names a client's command: its client and msg_id.
type askKey struct {
	client string
	msgID  int64
}

// askForget is how long the host remembers a command the core has not
// answered: a core that drops a command never answers it, and a reply
// that late is not expected.
const askForget = time.Minute

// tickCatchUpMax bounds the ticks replayed in one turn after a stall.
const tickCatchUpMax = 1000

// errNotReady answers a command that reaches a host without a core; the
// runtime holds requests until init, so only a runtime that did not would
// see it.
var errNotReady = maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")

// NewHost registers cfg's peer types, the init hook that builds the core,
// its ticker and the output drain on n. Register client commands with
// HandleCommand. Call it before n.Run.
func NewHost[P, C, R any](n *Node, cfg HostConfig[P, C, R]) *Host[P, C, R] {
	if (cfg.Build == nil) == (cfg.Durable == nil) || cfg.Reply == nil || cfg.Tick <= 0 {
		panic("node: a HostConfig needs one of Build and Durable, Reply and a positive Tick")
	}
	h := &Host[P, C, R]{n: n, cfg: cfg, openStore: openStore, exit: os.Exit}
	n.OnInit(func() error {
		c, st, err := h.build()
		if err != nil {
			return err
		}
		if c == nil {
			if st != nil {
				_ = st.Close()
			}
			return errors.New("node: Build returned no core")
		}
		h.core, h.store = c, st
		h.peers = map[string]bool{}
		for _, id := range n.Peers() {
			h.peers[id] = true
		}
		h.start, h.ticks = time.Now(), 0
		h.last = h.start
		h.asked, h.forgotAt = map[askKey]time.Time{}, h.start
		h.stats.start, h.stats.logAt = h.start, h.start
		n.Every(cfg.Tick, h.advance)
		return nil
	})
	for _, typ := range cfg.PeerTypes {
		Handle(n, typ, func(req *Request, m P) error {
			if h.core != nil && !h.dead && h.peers[req.Src] {
				h.advance()
				h.stats.inputs++
				h.core.Step(req.Src, m)
			}
			return nil
		})
	}
	n.OnIdle(h.drain)
	return h
}

// build makes the core, from the node's store when it is Durable.
func (h *Host[P, C, R]) build() (core.Core[P, C, R], hostStore, error) {
	h.stats = hostStats{}
	if h.cfg.Durable == nil {
		c, err := h.cfg.Build(h.n)
		return c, nil, err
	}
	if h.store != nil {
		// An earlier init opened it and was undone by another hook.
		_ = h.store.Close()
		h.core, h.store = nil, nil
	}
	dir := h.cfg.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, fmt.Errorf("node: the working directory: %w", err)
		}
		dir = wd
	}
	st, err := h.openStore(dir, h.n.ID(), h.cfg.NoSync, h.n)
	if err != nil {
		return nil, nil, fmt.Errorf("node: opening the store: %w", err)
	}
	rec, err := st.Recover()
	if err != nil {
		_ = st.Close()
		return nil, nil, fmt.Errorf("node: recovering the store: %w", err)
	}
	h.stats.fresh = rec.Fresh
	h.n.Logger().Info("recovered", "fresh", rec.Fresh, "state_bytes", len(rec.State),
		"snapshot", rec.Snapshot != nil, "first", rec.First, "records", len(rec.Log))
	c, err := h.cfg.Durable(h.n, rec)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return c, st, nil
}

// HandleCommand registers typ as a client command: its body decodes into
// B, decode turns that into the core's command (an error answers the
// request at once), and the core's reply answers it.
func HandleCommand[B, P, C, R any](h *Host[P, C, R], typ string, decode func(B) (C, error)) {
	Handle(h.n, typ, func(req *Request, b B) error {
		if h.core == nil || h.dead {
			return errNotReady
		}
		cmd, err := decode(b)
		if err != nil {
			return err
		}
		h.advance()
		if h.catchingUp || time.Now().Before(h.dropUntil) {
			// It probably waited out the stall, and its client may be
			// gone (see stallMax): no answer, the client times out.
			h.n.Logger().Info("command after a stall left unanswered", "src", req.Src, "msg_id", req.MsgID)
			h.stallDrops++
			return nil
		}
		h.stats.inputs++
		if req.MsgID > 0 {
			h.asked[askKey{req.Src, req.MsgID}] = h.last
		}
		h.core.Command(core.Command[C]{Client: req.Src, MsgID: req.MsgID, Body: cmd})
		return nil
	})
}

// stallMax is the longest the loop may stop (SIGSTOP: Maelstrom's pause)
// before the commands that waited in the pipe meanwhile are left
// unanswered, and the longest after a command was handed to the core that
// its reply is still sent (a stop between the two, or a sync that long,
// would otherwise answer a client that gave up). Maelstrom's client gives up after 5 s and closes, and a
// reply to a closed client is an error that makes Maelstrom stop reading
// the node for the rest of the run; a command that waited out a stall this
// long may belong to such a client. A stall shows as a gap between two
// runs of the tick timer, so only a Tick well below stallMax tells one.
//
// The commands that waited are the backlog the node reads after it
// resumes, however long that takes (seconds of traffic, read under load):
// the host answers no command until an idle turn of the loop finds stdin
// empty, the reader waiting on it and every line read handled
// (Node.inputDrained), and none for stallGrace after that. The grace
// covers what the sender still held when the pipe ran dry (a runtime's
// own queue for the node, written as the pipe frees). Dropping is cheap,
// so a node that is behind catches up the sooner for it.
const (
	stallMax   = 4 * time.Second
	stallGrace = 100 * time.Millisecond
)

// Core is the hosted core (nil before init).
func (h *Host[P, C, R]) Core() core.Core[P, C, R] { return h.core }

// advance ticks the core up to the monotonic clock. Ticks follow the clock
// rather than count timer runs, and every input first brings the core up to
// date, so a late timer or a starved process never skews the core's notion
// of time.
func (h *Host[P, C, R]) advance() {
	now := time.Now()
	if h.cfg.Tick <= stallMax/4 && now.Sub(h.last) >= stallMax {
		h.n.Logger().Warn("the loop stalled; answering no command until the input that waited is read", "stall", now.Sub(h.last))
		h.catchingUp, h.stallSeen, h.stallDrops = true, now, 0
	}
	h.last = now
	target := int64(now.Sub(h.start) / h.cfg.Tick)
	for k := 0; h.ticks < target && k < tickCatchUpMax; k++ {
		h.core.Tick()
		h.ticks++
	}
}

// drain makes the core's writes durable, then sends its replies, then its
// messages. A write that fails ends the process: a node that cannot
// persist must not answer, and its restart recovers what is on disk.
//
// Group commit: drain runs on the loop's idle turn, once the loop has
// handed the core every input already waiting (the inbox, up to the
// loop's burst bound), so every input of a burst shares one Output and so
// one sync; inputs that arrive while a sync is in progress wait in the
// inbox and share the next one. Nothing waits for an input that has not
// arrived: an idle node syncs and answers at once. Successive state
// writes with no other write between them are cut to the last (see
// lastStates), so a burst costs one sync of the stable value at most
// however many of its inputs rewrote it.
func (h *Host[P, C, R]) drain() {
	if h.core == nil || h.dead {
		return
	}
	if h.catchingUp && h.n.inputDrained() {
		h.catchingUp = false
		h.dropUntil = time.Now().Add(stallGrace)
		h.n.Logger().Warn("read the input that waited out the stall; answering again after the grace",
			"after", time.Since(h.stallSeen), "unanswered", h.stallDrops, "grace", stallGrace)
	}
	out := h.core.Drain()
	if len(out.Writes) > 0 {
		if h.store == nil {
			h.n.Logger().Error("a core that persists nothing emitted writes; use HostConfig.Durable")
			h.dead = true
			h.exit(1)
			return
		}
		if err := h.store.Apply(lastStates(out.Writes)); err != nil {
			h.n.Logger().Error("persisting failed; exiting", "err", err)
			h.dead = true
			h.exit(1)
			return
		}
		h.stats.applies++
	}
	answered := h.stats.answers
	now := time.Now()
	for _, r := range out.Replies {
		body := h.cfg.Reply(r.Body)
		if r.InReplyTo <= 0 || body == nil {
			continue // a request without msg_id gets no reply
		}
		k := askKey{r.To, r.InReplyTo}
		if at, ok := h.asked[k]; ok {
			delete(h.asked, k)
			if age := now.Sub(at); age >= stallMax {
				// Its client may have given up and closed (see stallMax):
				// no answer, the client times out. What the core did for
				// it stands (a write is durable, a message still leaves).
				h.n.Logger().Warn("a reply later than the stall limit left unsent", "to", r.To, "in_reply_to", r.InReplyTo, "age", age)
				continue
			}
		}
		if err := h.n.ReplyTo(r.To, r.InReplyTo, body); err != nil {
			h.n.Logger().Warn("reply failed", "to", r.To, "err", err)
			continue
		}
		h.stats.answers++
	}
	for _, m := range out.Messages {
		if err := h.n.Send(m.To, m.Msg); err != nil {
			h.n.Logger().Warn("send failed", "to", m.To, "err", err)
		}
	}
	if now.Sub(h.forgotAt) >= askForget {
		h.forgotAt = now
		maps.DeleteFunc(h.asked, func(_ askKey, at time.Time) bool { return now.Sub(at) >= askForget })
	}
	if h.cfg.StatsEvery > 0 && h.cfg.StatsLog != nil && h.store != nil {
		h.logStats(h.stats.answers > answered)
	}
}

// lastStates drops every WriteState that the next write replaces: a
// WriteState right before another. The stable value is replaced whole and
// nothing of the Output is sent before all of it is durable, so no one
// was told of the values dropped; a crash during the Apply leaves the old
// value or the last, which the full sequence could leave too. A state
// write with a log write after it stays: the log may depend on it.
func lastStates(ws []core.Write) []core.Write {
	replaced := func(i int) bool {
		return ws[i].Kind == core.WriteState && i+1 < len(ws) && ws[i+1].Kind == core.WriteState
	}
	var keep []core.Write
	for i, w := range ws {
		switch {
		case keep != nil:
			if !replaced(i) {
				keep = append(keep, w)
			}
		case replaced(i):
			keep = append(make([]core.Write, 0, len(ws)-1), ws[:i]...)
		}
	}
	if keep == nil {
		return ws // nothing replaced, the common case: no copy
	}
	return keep
}

// logStats logs to StatsLog, each line with the node's id: once each,
// when the core first serves (a core that is not recovering, with the
// blank flag: the store was fresh) and when it first answers a client,
// both in ms after the init; and every StatsEvery the disk work so far: client answers sent (ops), inputs
// handed to the core, drained Outputs with writes (applies: one sync of
// the log or the stable value each, both when it has both), the syncs,
// bytes and records of the log and the stable value, and compactions; and
// every fsync and written byte of the store's files, snapshots and
// directories included (none with NoSync): what strace would count.
func (h *Host[P, C, R]) logStats(answered bool) {
	s := &h.stats
	log := func(msg string, args ...any) { h.cfg.StatsLog.Info(msg, append([]any{"node", h.n.ID()}, args...)...) }
	if r, ok := h.core.(recovering); !s.serving && (!ok || !r.Recovering()) {
		s.serving = true
		log("serving", "after_ms", time.Since(s.start).Milliseconds(), "blank", s.fresh)
	}
	if !s.answered && answered {
		s.answered = true
		log("first client answer", "after_ms", time.Since(s.start).Milliseconds())
	}
	if time.Since(s.logAt) < h.cfg.StatsEvery {
		return
	}
	s.logAt = time.Now()
	st := h.store.Stats()
	log("disk stats", "ops", s.answers, "inputs", s.inputs, "applies", s.applies,
		"log_syncs", st.log.Syncs, "state_syncs", st.state.Syncs, "log_bytes", st.log.BytesWritten,
		"state_bytes", st.state.BytesWritten, "records", st.log.Records, "compactions", st.log.Compactions,
		"fsyncs", st.files.Fsyncs, "dir_fsyncs", st.files.DirFsyncs, "file_bytes", st.files.Bytes)
}

// Close closes a Durable node's store, once the node has stopped (after
// Node.Run returns): its lock is released, so that another process, or a
// later node in the same process, can open it.
func (h *Host[P, C, R]) Close() error {
	if h.store == nil {
		return nil
	}
	err := h.store.Close()
	h.store = nil
	return err
}
