package storage_test

import (
	"fmt"

	"maelkit/lib/storage"
)

// A node's life across a kill: it persists before it acknowledges, and on
// restart rebuilds its state from the snapshot, the log after it, and the
// stable value. A SimDisk stands in for the working directory; a real node
// calls storage.Open(".", nodeID).
func Example() {
	disk := storage.NewSimDisk(1)
	run := storage.RunID{ParentPID: 100, ParentStart: 5}
	open := func() *storage.Store {
		s, err := storage.OpenConfig(storage.Config{Dir: "/work", NodeID: "n1", FS: disk, Run: &run})
		if err != nil {
			panic(err)
		}
		return s
	}

	s := open()
	if err := s.State.Put([]byte("term=2 vote=n3")); err != nil {
		panic(err)
	}
	// A batch of writes, one fsync; reply to clients only after Sync.
	if _, err := s.Log.Append([]byte("x=1"), []byte("y=2"), []byte("x=3")); err != nil {
		panic(err)
	}
	if err := s.Log.Sync(); err != nil {
		panic(err)
	}
	// The state machine folded records 1..2 into an image: the log drops them.
	if err := s.SaveSnapshot(2, []byte("x=1 y=2")); err != nil {
		panic(err)
	}

	disk.Crash() // power loss (disk.Kill() would be the process alone)

	s = open()
	defer s.Close()
	snap, found, err := s.LoadSnapshot()
	if err != nil {
		panic(err)
	}
	fmt.Printf("snapshot found=%v index=%d %q\n", found, snap.Index, snap.Data)
	err = s.Log.Replay(func(index uint64, data []byte) error {
		if index > snap.Index {
			fmt.Printf("replay %d %q\n", index, data)
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("stable %q\n", s.State.Get())
	// Output:
	// snapshot found=true index=2 "x=1 y=2"
	// replay 3 "x=3"
	// stable "term=2 vote=n3"
}
