package eddy

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	base := func() Options { o := Defaults(); o.Bin = "b"; o.Workload = "echo"; return o }
	o := base()
	r, err := o.resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"n1", "n2", "n3", "n4", "n5"}, r.nodes, "without --node-count Maelstrom uses n1..n5")
	require.Equal(t, 5, r.concurrency)

	o = base()
	o.NodeCount = 3
	o.Concurrency = "4n"
	r, err = o.resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"n0", "n1", "n2"}, r.nodes)
	require.Equal(t, 12, r.concurrency)

	for name, mut := range map[string]func(*Options){
		"no bin":             func(o *Options) { o.Bin = "" },
		"unknown workload":   func(o *Options) { o.Workload = "kafka-ish" },
		"client-like name":   func(o *Options) { o.Nodes = []string{"c1"} },
		"duplicate name":     func(o *Options) { o.Nodes = []string{"a", "a"} },
		"bad concurrency":    func(o *Options) { o.Concurrency = "xn" },
		"zero concurrency":   func(o *Options) { o.Concurrency = "0" },
		"other nemesis":      func(o *Options) { o.Nemesis = []string{"crash"} },
		"loss rate above 1":  func(o *Options) { o.Nemesis = []string{"loss"}; o.LossRate = 1.5 },
		"negative dup rate":  func(o *Options) { o.DuplicateRate = -0.1 },
		"bad availability":   func(o *Options) { o.Availability = "1.5" },
		"negative latency":   func(o *Options) { o.LatencyMs = -1 },
		"zero nemesis every": func(o *Options) { o.NemesisInterval = 0 },
		"unknown shape":      func(o *Options) { o.PartitionShapes = []string{"ring"} },
	} {
		o := base()
		mut(&o)
		_, err := o.resolve()
		var u *UsageError
		require.True(t, errors.As(err, &u), "%s: want a usage error, got %v", name, err)
	}
}

func TestResolveFaults(t *testing.T) {
	o := Defaults()
	o.Bin = "x"
	o.Workload = "echo"
	o.Nemesis = []string{"partition", " kill", "pause"}
	r, err := o.resolve()
	require.NoError(t, err)
	require.True(t, r.faults.Partition && r.faults.Kill && r.faults.Pause)
	require.False(t, r.faults.Packet())
	o.Nemesis = []string{"loss", "duplicate"}
	o.DuplicateRate = 0.3
	r, err = o.resolve()
	require.NoError(t, err)
	require.Equal(t, [2]float64{DefaultPacketRate, 0.3}, [2]float64{r.lossRate, r.duplicateRate})
}

func TestFinalLines(t *testing.T) {
	require.Contains(t, FinalLine(true), "Everything looks good")
	require.Contains(t, FinalLine(false), "Analysis invalid")
	require.Contains(t, FinalLine("unknown"), "no anomalies found")
}

// Names given as Options.Nodes are kept as they are, in order.
func TestResolveKeepsNodeNames(t *testing.T) {
	o := Defaults()
	o.Bin, o.Workload, o.Nodes = "b", "echo", []string{"a", "b", "x", "d"}
	r, err := o.resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "x", "d"}, r.nodes)
}
