package e2e

import (
	"os"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/history"
)

// TestFixtureVerdicts runs each fixture node program (tests/fixtures/maelfix)
// on eddy and checks the verdict and the figure that decides it.
func TestFixtureVerdicts(t *testing.T) {
	unknown := history.Keyword("unknown")
	cases := []struct {
		name  string
		setup func(o *eddy.Options)
		want  any
		// check, when set, asserts on the result beyond the verdict.
		check func(t *testing.T, res *eddy.Result)
	}{
		{name: "echo", setup: wl("echo", "echo"), want: true},
		{name: "echo-alter", setup: wl("echo", "echo-alter"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Equal(t, false, get(t, res, "workload", "valid?"))
		}},
		{name: "echo-extra field is malformed", setup: wl("echo", "echo-extra"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Equal(t, int64(0), get(t, res, "stats", "ok-count"))
			require.NotNil(t, get(t, res, "exceptions", "exceptions"))
		}},
		{name: "echo-type", setup: wl("echo", "echo-type"), want: false},
		{name: "unique-ids", setup: wl("unique-ids", "unique-ids"), want: true},
		{name: "unique-ids with partitions and total availability", setup: func(o *eddy.Options) {
			wl("unique-ids", "unique-ids")(o)
			o.Rate = 200
			o.Availability = "total"
			o.Nemesis = []string{"partition"}
			o.NemesisInterval = 500 * time.Millisecond
		}, want: true},
		{name: "ids-collide", setup: wl("unique-ids", "ids-collide"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Greater(t, get(t, res, "workload", "duplicated-count").(int64), int64(0))
		}},
		{name: "ids-mixed types make the range unknowable", setup: wl("unique-ids", "ids-mixed"), want: unknown},
		{name: "broadcast with partitions", setup: partitioned(wl("broadcast", "broadcast")), want: true, check: func(t *testing.T, res *eddy.Result) {
			require.Equal(t, int64(0), get(t, res, "workload", "lost-count"))
			require.Greater(t, get(t, res, "workload", "stable-count").(int64), int64(0))
		}},
		{name: "broadcast-norelay loses values", setup: wl("broadcast", "broadcast-norelay"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Greater(t, get(t, res, "workload", "lost-count").(int64), int64(0))
		}},
		{name: "broadcast-once loses values under partitions", setup: func(o *eddy.Options) {
			partitioned(wl("broadcast", "broadcast-once"))(o)
			o.NodeCount = 5
			o.TimeLimit = 6 * time.Second
			o.Rate = 50
		}, want: false},
		{name: "broadcast-extra replies are malformed", setup: wl("broadcast", "broadcast-extra"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Equal(t, int64(0), get(t, res, "stats", "by-f", "broadcast", "ok-count"))
		}},
		{name: "g-set with partitions", setup: partitioned(wl("g-set", "g-set")), want: true},
		{name: "g-counter with partitions", setup: partitioned(wl("g-counter", "g-counter")), want: true},
		{name: "pn-counter with partitions", setup: partitioned(wl("pn-counter", "pn-counter")), want: true},
		{name: "counter-local counts only local adds", setup: wl("g-counter", "counter-local"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Equal(t, false, get(t, res, "workload", "valid?"))
		}},
		{name: "counter-nodecr ignores decrements", setup: wl("pn-counter", "counter-nodecr"), want: false},
		{name: "counter-float reads are malformed", setup: wl("g-counter", "counter-float"), want: false, check: func(t *testing.T, res *eddy.Result) {
			require.Equal(t, int64(0), get(t, res, "stats", "by-f", "read", "ok-count"))
		}},
		{name: "garbage output silences the node", setup: wl("echo", "garbage"), want: false},
		{name: "unknown dest silences the node", setup: wl("echo", "unknown-dest"), want: false},
		{name: "partial line is never delivered", setup: wl("echo", "partial"), want: false},
		{name: "noread node ends in time; timed-out ops bump the process", setup: func(o *eddy.Options) {
			wl("echo", "noread")(o)
			o.TimeLimit = 7 * time.Second // past the 5 s client timeout
		}, want: false,
			check: func(t *testing.T, res *eddy.Result) {
				// Every echo times out as :info, so each thread moves to
				// process old+concurrency and re-opens its client.
				maxProc := int64(0)
				for _, op := range res.History {
					maxProc = max(maxProc, op.Process)
				}
				require.GreaterOrEqual(t, maxProc, int64(3), "process ids move on by the concurrency after :info")
				clients := map[string]bool{}
				for _, e := range res.Journal {
					if e.Src[0] == 'c' {
						clients[e.Src] = true
					}
				}
				// c0-c2 init, c3-c5 setup (silent for echo), c6-c8 the
				// first worker clients, c9 on: re-opened after :info.
				require.True(t, clients["c9"], "a re-opened client sent requests: %v", clients)
			}},
		{name: "flood is bounded", setup: func(o *eddy.Options) {
			wl("echo", "flood")(o)
			o.NodeCount = 2
		}, check: func(t *testing.T, res *eddy.Result) {
			sent := get(t, res, "net", "all", "send-count").(int64)
			// 8 MiB/s per node of small messages is bounded; without the
			// bound a flood sends tens of millions in a few seconds.
			require.Less(t, sent, int64(2_000_000), "flooding node's sends must be bounded")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "", "maelfix")
			tc.setup(&o)
			start := time.Now()
			res := run(t, o)
			t.Logf("seed %d, %v, valid? %v, folder %s", res.Seed, time.Since(start).Round(time.Millisecond), res.Valid, res.Dir)
			if tc.want != nil {
				require.Equal(t, tc.want, res.Valid, "verdict (seed %d, results in %s)", res.Seed, res.Dir)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// wl selects a workload and a fixture mode.
func wl(workload, mode string, args ...string) func(o *eddy.Options) {
	return func(o *eddy.Options) {
		o.Workload = workload
		o.Args = append([]string{mode}, args...)
	}
}

// partitioned adds Maelstrom's partition nemesis with a short interval.
func partitioned(f func(o *eddy.Options)) func(o *eddy.Options) {
	return func(o *eddy.Options) {
		f(o)
		o.Nemesis = []string{"partition"}
		o.NemesisInterval = 700 * time.Millisecond
	}
}

func TestCrashes(t *testing.T) {
	t.Run("silent node fails init", func(t *testing.T) {
		t.Parallel()
		ce := crash(t, opts(t, "echo", "maelfix", "silent"))
		require.Contains(t, ce.Msg, "init-failed")
	})
	t.Run("node exiting mid-run is reported with its output", func(t *testing.T) {
		t.Parallel()
		o := opts(t, "echo", "maelfix", "crash")
		o.TimeLimit = 30 * time.Second // the crash must end the run early
		start := time.Now()
		ce := crash(t, o)
		require.Less(t, time.Since(start), o.TimeLimit, "the crash ended the run before its time limit")
		require.Regexp(t, `Node n\d crashed with exit status 3`, ce.Msg)
	})
	t.Run("init slower than 10 s fails", func(t *testing.T) {
		t.Parallel()
		ce := crash(t, opts(t, "echo", "maelfix", "slow-init"))
		require.Contains(t, ce.Msg, "init-failed")
	})
	t.Run("missing binary", func(t *testing.T) {
		t.Parallel()
		o := opts(t, "echo", "no-such-binary")
		_, err := eddy.Run(t.Context(), o)
		require.ErrorContains(t, err, "no-such-binary")
	})
}

// TestNoOrphans runs a node that forks a grandchild and checks that the
// grandchild is gone after the run: without the sandbox, eddy kills each
// node's process group. (In the sandbox a node reports pids of its own PID
// namespace; tests/eddy's TestSandboxHostileNodes covers it.)
func TestNoOrphans(t *testing.T) {
	o := opts(t, "echo", "maelfix", "fork")
	o.NoSandbox = true
	o.NodeCount = 2
	o.TimeLimit = time.Second
	res := run(t, o)
	require.Equal(t, true, res.Valid)
	re := regexp.MustCompile(`grandchild pid (\d+)`)
	found := 0
	for _, n := range []string{"n0", "n1"} {
		log, err := os.ReadFile(res.Dir + "/node-logs/" + n + ".log")
		require.NoError(t, err)
		for _, m := range re.FindAllSubmatch(log, -1) {
			pid, err := strconv.Atoi(string(m[1]))
			require.NoError(t, err)
			found++
			require.True(t, gone(pid), "grandchild %d of %s is still running", pid, n)
		}
	}
	require.Equal(t, 2, found, "each node reports its grandchild")
}

// gone reports whether pid no longer runs (absent, or a zombie nobody reaps).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	return regexp.MustCompile(`\) Z `).Match(stat)
}
