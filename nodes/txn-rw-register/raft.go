package main

import (
	"maelkit/lib/node"
	"maelkit/lib/raftnode"
	"maelkit/lib/txn"
)

// registerRaft installs the strict-serializable mode on n, with its Raft
// state kept in dir (see raftnode.Config).
func registerRaft(n *node.Node, o options, dir string) error {
	m := txn.NewMachine()
	_, err := raftnode.Register(n, raftnode.Config{
		Types:   []string{"txn"},
		Machine: m,
		Codec:   txn.Codec{Machine: m},
		Timing:  raftnode.DefaultTiming(),
		NoSync:  o.noSync,
		Dir:     dir,
		Amnesia: o.amnesia,
	})
	return err
}
