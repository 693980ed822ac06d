package node

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultLineMaxBytes    = 16 << 20
	DefaultInboxMax        = 1024
	DefaultPreInitMax      = 1 << 16
	DefaultPeerInflightMax = 128
	DefaultPeerQueueMax    = 1 << 14
)

const (
	// flushBytesMax bounds the output batched while the loop is busy: past
	// it the loop waits for the writer (backpressure) before doing more work.
	flushBytesMax = 256 << 10
	// burstMax bounds the events handled before the loop takes an idle turn
	// (OnIdle hooks, flush), so output keeps flowing under a steady stream.
	burstMax = 256
	// warnTypesMax bounds the set of unknown types warned about once each.
	warnTypesMax = 64
)

// Errors returned by the runtime.
var (
	// ErrStopped: Run has ended (or is ending); the call was not made or its
	// answer will never come.
	ErrStopped = errors.New("node: stopped")
	// ErrNotInitialized: the node has no id yet (init has not arrived).
	ErrNotInitialized = errors.New("node: not initialized")
	// ErrQueueFull: Config.PeerQueueMax calls already wait for this peer.
	ErrQueueFull = errors.New("node: peer call queue full")
	// ErrReplied: the request was already answered.
	ErrReplied = errors.New("node: request already answered")
)

// Config configures a Node. The zero value reads os.Stdin, writes os.Stdout
// and logs to os.Stderr at the level MAELKIT_LOG names.
type Config struct {
	In     io.Reader    // messages in, one JSON object per line; default os.Stdin
	Out    io.Writer    // messages out; default os.Stdout
	Logger *slog.Logger // default NewLogger(os.Stderr, os.Getenv(LogEnv))

	// LineMaxBytes bounds an input line; longer lines are skipped with a
	// warning. Default 16 MiB.
	LineMaxBytes int
	// InboxMax bounds the decoded messages waiting for the loop; a full
	// inbox stops reading stdin (backpressure). Default 1024.
	InboxMax int
	// PreInitMax bounds the messages held until init arrives; excess ones
	// are dropped with a warning. Default 65536.
	PreInitMax int
	// PeerInflightMax bounds the calls in flight to one destination; more
	// calls queue (FIFO). Small values protect a slow peer or service, large
	// ones cut queueing latency. Default 128.
	PeerInflightMax int
	// PeerQueueMax bounds the calls queued behind PeerInflightMax for one
	// destination; past it Call returns ErrQueueFull. Default 16384.
	PeerQueueMax int
	// Rand drives retry jitter; default seeded from crypto/rand. Loop-owned.
	Rand *rand.Rand
}

func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{name: "LineMaxBytes", v: &c.LineMaxBytes, def: DefaultLineMaxBytes},
		{name: "InboxMax", v: &c.InboxMax, def: DefaultInboxMax},
		{name: "PreInitMax", v: &c.PreInitMax, def: DefaultPreInitMax},
		{name: "PeerInflightMax", v: &c.PeerInflightMax, def: DefaultPeerInflightMax},
		{name: "PeerQueueMax", v: &c.PeerQueueMax, def: DefaultPeerQueueMax},
	} {
		if *f.v < 0 {
			return c, fmt.Errorf("node: Config.%s = %d, must not be negative", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.In == nil {
		c.In = os.Stdin
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Logger == nil {
		c.Logger = NewLogger(os.Stderr, os.Getenv(LogEnv))
	}
	if c.Rand == nil {
		var seed [16]byte
		_, _ = crand.Read(seed[:]) // never fails on supported platforms
		c.Rand = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	return c, nil
}

// handlerFunc serves one request; Handle wraps typed handlers into it.
type handlerFunc func(req *Request) error

// Node is one Maelstrom node: configuration, handlers, and the state the
// loop owns. Create it with New, register handlers, then call Run.
type Node struct {
	cfg   Config
	log   *slog.Logger
	debug bool // per-message logging

	handlers map[string]handlerFunc
	onInit   []func() error
	onIdle   []func()
	started  bool

	// Loop-owned from here on.
	id        string
	nodeIDs   []string
	peers     []string
	preInit   []*Request
	warned    map[string]bool // unknown types already warned about
	stopping  bool            // Run is shutting down: no new calls or timers
	stopped   bool            // Run has returned: nothing may be sent
	nextMsgID int64
	pending   map[int64]*call
	dests     map[string]*peer
	timers    timerHeap
	timerSeq  uint64
	wake      *time.Timer
	wakeAt    time.Time
	wakeArmed bool
	enc       *encoder
	out       []byte // the output batch not yet handed to the writer
	rand      *rand.Rand
	// inbox and rd are Run's, kept for inputDrained.
	inbox chan *Request
	rd    *reader
}

// New validates cfg and returns a node ready for handler registration.
func New(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Node{
		cfg:      cfg,
		log:      cfg.Logger,
		debug:    cfg.Logger.Enabled(context.Background(), slog.LevelDebug),
		handlers: make(map[string]handlerFunc),
		warned:   make(map[string]bool),
		pending:  make(map[int64]*call),
		dests:    make(map[string]*peer),
		enc:      newEncoder(),
		rand:     cfg.Rand,
	}, nil
}

// ID is this node's id ("" before init).
func (n *Node) ID() string { return n.id }

// NodeIDs is every node id of the cluster, self included, in the order init
// gave (the same on all nodes). The slice is a copy.
func (n *Node) NodeIDs() []string { return slices.Clone(n.nodeIDs) }

// Peers is NodeIDs without this node. The slice is a copy.
func (n *Node) Peers() []string { return slices.Clone(n.peers) }

// Initialized reports whether init has arrived.
func (n *Node) Initialized() bool { return n.id != "" }

// Logger is the node's logger, for node code and the cores it drives.
func (n *Node) Logger() *slog.Logger { return n.log }

// Rand is the loop-owned random source (Config.Rand).
func (n *Node) Rand() *rand.Rand { return n.rand }

// OnInit registers fn to run on the loop when a good init arrives, after
// ID and NodeIDs are set and before init_ok is sent: the place to build
// cores and start timers. An error is answered to init instead of init_ok
// (Maelstrom then aborts the test) and the init is undone (see the package
// doc): the node waits for another init, which runs every hook again. So fn
// builds fresh state each time and assigns it only once nothing can fail.
// Call it before Run.
func (n *Node) OnInit(fn func() error) { n.onInit = append(n.onInit, fn) }

// OnIdle registers fn to run on the loop each time it has handled every
// ready event, just before output is flushed: the place to drain a core's
// outputs once per burst of input (a Ready/Advance cycle). Call it before Run.
func (n *Node) OnIdle(fn func()) { n.onIdle = append(n.onIdle, fn) }

func (n *Node) register(typ string, h handlerFunc) {
	switch {
	case typ == "" || typ == "init" || typ == "error":
		panic(fmt.Sprintf("node: cannot register a handler for type %q", typ))
	case n.handlers[typ] != nil:
		panic(fmt.Sprintf("node: duplicate handler for type %q", typ))
	}
	n.handlers[typ] = h
}

// Run reads messages until stdin ends, serving them on the calling
// goroutine (the loop). It returns nil after a clean EOF, or the first read
// or write error. A node runs once.
func (n *Node) Run() error {
	if n.started {
		return errors.New("node: Run called twice")
	}
	n.started = true
	n.wake = time.NewTimer(time.Hour)
	n.wake.Stop()

	inbox := make(chan *Request, n.cfg.InboxMax)
	quit := make(chan struct{})
	rd := &reader{n: n, inbox: inbox, quit: quit, errc: make(chan error, 1)}
	n.inbox, n.rd = inbox, rd
	wr := newWriter(n.cfg.Out)
	go rd.run()
	go wr.run()

	err := n.loop(inbox, wr)
	close(quit) // a reader blocked on a full inbox gives up
	close(wr.in)
	<-wr.done
	n.stopped = true
	if err == nil {
		err = wr.err()
	}
	if err == nil {
		select {
		case rerr := <-rd.errc:
			err = fmt.Errorf("node: read: %w", rerr)
		default:
		}
	}
	return err
}

// loop is the event loop: it handles ready events, then, when idle, runs
// the OnIdle hooks and hands the output batch to the writer.
func (n *Node) loop(inbox <-chan *Request, wr *writer) error {
	busy := false
	for burst := 0; ; burst++ {
		wakeC := n.armWake()
		if burst < burstMax && len(n.out) < flushBytesMax {
			select {
			case req, ok := <-inbox:
				if !ok {
					return n.shutdown(wr)
				}
				n.dispatch(req)
				busy = true
				continue
			case now := <-wakeC:
				n.wakeArmed = false
				n.fireDue(now)
				busy = true
				continue
			default:
			}
		}
		burst = 0
		if busy {
			n.runIdle()
			busy = false
			wakeC = n.armWake()
		}
		if len(n.out) > 0 { // idle: flush now if the writer is free
			select {
			case wr.in <- n.out:
				n.out = wr.spare()
			default:
			}
		}
		var flush chan<- []byte // else as soon as it is
		if len(n.out) > 0 {
			flush = wr.in
		}
		if len(n.out) >= flushBytesMax {
			select {
			case wr.in <- n.out:
				n.out = wr.spare()
			case err := <-wr.errc:
				return fmt.Errorf("node: write: %w", err)
			}
			continue
		}
		select {
		case req, ok := <-inbox:
			if !ok {
				return n.shutdown(wr)
			}
			n.dispatch(req)
			busy = true
		case now := <-wakeC:
			n.wakeArmed = false
			n.fireDue(now)
			busy = true
		case flush <- n.out:
			n.out = wr.spare()
		case err := <-wr.errc:
			return fmt.Errorf("node: write: %w", err)
		}
	}
}

// shutdown runs at stdin EOF, once every read message was dispatched.
func (n *Node) shutdown(wr *writer) error {
	n.stopping = true
	if len(n.preInit) > 0 {
		n.log.Warn("input ended before init; dropping queued messages", "count", len(n.preInit))
		n.preInit = nil
	}
	n.failCalls(ErrStopped)
	n.stopTimers()
	n.runIdle()
	if len(n.out) > 0 {
		select {
		case wr.in <- n.out:
			n.out = nil
		case err := <-wr.errc:
			return fmt.Errorf("node: write: %w", err)
		}
	}
	return nil
}

// inputDrained reports whether the node has handled every line that
// reached it and waits for more: the reader is inside a read of stdin, so
// every complete line it read before is in the inbox or handled; stdin
// holds nothing unread (as far as the system tells: see unread); and the
// inbox is empty. The reader is checked first: a line it pushed before
// that read began is in the inbox. A line that reaches the reader while
// the three are checked can be missed, and what the sender still holds
// and has not written is not seen: the Host's grace after a stall covers
// both.
func (n *Node) inputDrained() bool {
	if n.rd == nil {
		return false
	}
	return n.rd.waiting.Load() && unread(n.cfg.In) == 0 && len(n.inbox) == 0
}

func (n *Node) runIdle() {
	for _, fn := range n.onIdle {
		n.guard("idle hook", fn)
	}
}

// guard runs fn, turning a panic into an error log: node code must not be
// able to kill the node.
func (n *Node) guard(what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("panic in "+what, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// send appends one message to the output batch.
func (n *Node) send(src, dest string, obj []byte, msgID, inReplyTo int64) {
	start := len(n.out)
	n.out = appendMessage(n.out, src, dest, obj, msgID, inReplyTo)
	if n.debug {
		n.log.Debug("send", "msg", string(bytes.TrimSuffix(n.out[start:], []byte{'\n'})))
	}
}

// Send sends body to dest without a msg_id, so the receiver will not reply
// (gossip, or protocols that correlate answers themselves). body is a struct
// with a "type" field (encoded with encoding/json, field order kept, HTML
// characters not escaped), a *maelstrom.RPCError, or a json.RawMessage
// object, sent verbatim. It must not set msg_id or in_reply_to.
func (n *Node) Send(dest string, body any) error { return n.sendTo("Send", dest, body, 0) }

// sendTo encodes body and sends it to dest from this node, as a reply to
// msg_id inReplyTo when it is positive; op names the caller in errors.
func (n *Node) sendTo(op, dest string, body any, inReplyTo int64) error {
	switch {
	case n.stopped:
		return ErrStopped
	case n.id == "":
		return ErrNotInitialized
	case dest == "":
		return errors.New("node: " + op + " with an empty dest")
	}
	obj, err := n.enc.object(body)
	if err != nil {
		return err
	}
	n.send(n.id, dest, obj, 0, inReplyTo)
	return nil
}

// stats is a snapshot of the loop's tables, for tests and debug logs.
type stats struct {
	Pending int // calls awaiting a reply
	Queued  int // calls waiting for an in-flight slot
	Dests   int // destinations with calls in flight or queued
	Timers  int // scheduled timer entries (deadlines included)
	PreInit int // messages held until init
}

func (n *Node) stats() stats {
	s := stats{Pending: len(n.pending), Dests: len(n.dests), Timers: len(n.timers), PreInit: len(n.preInit)}
	for _, p := range n.dests {
		s.Queued += p.queued()
	}
	return s
}
