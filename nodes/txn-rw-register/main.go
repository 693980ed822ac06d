package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/node"
	"maelkit/lib/txn"
)

const usage = `usage: txn-rw-register [-sync=false] [-amnesia] [-wait-own-reads] [read-committed | read-uncommitted]
  (no argument: strict serializable, transactions ordered by Raft;
  -sync=false: no fsync, to measure its cost;
  -amnesia: disks may be wiped, as by eddy's --kill-wipes-disk: in the
  strict mode a node that starts without state rejoins through its peers
  before it votes, where by default such a start is a first boot;
  -wait-own-reads: in the read-committed mode, answer a transaction that
  reads a list after appending to it only once its appends can be shown
  (no "internal" anomaly, but no total availability: see lib/txn))`

// tickMs is one core tick of the read-committed mode.
const tickMs = 10

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "txn-rw-register:", err)
		os.Exit(2)
	}
}

// mode is the consistency the node provides.
type mode int8

const (
	strictSerializable mode = iota // a Raft log of transactions
	readCommitted                  // totally available
)

// options are the node's command line.
type options struct {
	mode    mode
	noSync  bool // -sync=false
	amnesia bool // -amnesia (raftnode.Config.Amnesia; the strict mode's)
	waitOwn bool // -wait-own-reads (txn.Config.WaitOwnReads; the read-committed mode's)
}

// parseArgs reads the options, then the mode.
func parseArgs(args []string) (options, error) {
	fs := flag.NewFlagSet("txn-rw-register", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sync := fs.Bool("sync", true, "")
	amnesia := fs.Bool("amnesia", false, "")
	waitOwn := fs.Bool("wait-own-reads", false, "")
	if err := fs.Parse(args); err != nil {
		return options{}, fmt.Errorf("%v\n%s", err, usage)
	}
	m, err := parseMode(fs.Args())
	return options{mode: m, noSync: !*sync, amnesia: *amnesia, waitOwn: *waitOwn}, err
}

// testDir gives each node a test runs in-process a directory of its own
// for its store (nil: the working directory).
var testDir func() string

// parseMode reads the positional arguments.
func parseMode(args []string) (mode, error) {
	switch {
	case len(args) == 0:
		return strictSerializable, nil
	case len(args) == 1 && (args[0] == "read-committed" || args[0] == "read-uncommitted"):
		return readCommitted, nil
	}
	return 0, fmt.Errorf("unknown arguments %q\n%s", args, usage)
}

// run is the whole node over the given arguments and streams.
func run(args []string, in io.Reader, out, logs io.Writer) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	dir := ""
	if testDir != nil {
		dir = testDir()
	}
	if o.mode == strictSerializable {
		if err := registerRaft(n, o, dir); err != nil {
			return err
		}
		return n.Run()
	}
	registerReadCommitted(n, o.noSync, o.waitOwn, dir)
	return n.Run()
}

// registerReadCommitted installs the available mode on n: a durable
// txn.Core on a node.Host keeping its store in dir (empty: the working
// directory), its replication messages and the "txn" command.
func registerReadCommitted(n *node.Node, noSync, waitOwn bool, dir string) {
	h := node.NewHost(n, node.HostConfig[txn.Message, txn.Txn, txn.Answer]{
		Durable: func(n *node.Node, rec core.Recovered) (core.Core[txn.Message, txn.Txn, txn.Answer], error) {
			cfg := txn.Defaults(n.ID(), n.NodeIDs(), tickMs)
			cfg.Logger = n.Logger()
			cfg.WaitOwnReads = waitOwn
			// The boot's wall clock: larger for every later process of
			// this node, disk or no disk; in microseconds it starts a
			// wiped node's Lamport clock above every version used before.
			boot := time.Now().UnixNano()
			cfg.Incarnation, cfg.FreshClock = boot, boot/1000
			return txn.NewDurable(cfg, rec)
		},
		Dir:       dir,
		NoSync:    noSync,
		Tick:      tickMs * time.Millisecond,
		PeerTypes: []string{txn.MessageType},
		Reply: func(a txn.Answer) any {
			switch {
			case errors.Is(a.Err, txn.ErrLogFull):
				return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, a.Err.Error())
			case a.Err != nil:
				return maelstrom.NewRPCError(maelstrom.MalformedRequest, a.Err.Error())
			}
			return txn.OK{Type: "txn_ok", Txn: a.Txn}
		},
	})
	node.HandleCommand(h, "txn", func(b txn.Request) (txn.Txn, error) {
		if b.Txn == nil {
			return nil, maelstrom.NewRPCError(maelstrom.MalformedRequest, "txn request has no txn list")
		}
		return b.Txn, nil
	})
}
