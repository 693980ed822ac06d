package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

var start = time.Date(2024, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("", -7*3600))

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func resolve(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	require.NoError(t, err)
	return r
}

func TestCreateLayout(t *testing.T) {
	root := t.TempDir()
	r, err := Create(root, "lin-kv", start)
	require.NoError(t, err)
	defer r.Close()

	want := filepath.Join(root, "lin-kv", "20240102T030405.006-0700")
	require.Equal(t, want, r.Dir())
	st, err := os.Stat(filepath.Join(want, "node-logs"))
	require.NoError(t, err)
	require.True(t, st.IsDir())
	_, err = os.Stat(filepath.Join(want, "jepsen.log"))
	require.NoError(t, err)

	real := resolve(t, want)
	for _, link := range []string{"latest", "current", filepath.Join("lin-kv", "latest")} {
		require.Equal(t, real, resolve(t, filepath.Join(root, link)), link)
		target, err := os.Readlink(filepath.Join(root, link))
		require.NoError(t, err)
		require.False(t, filepath.IsAbs(target), "relative links survive moving the store")
	}
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.Contains(e.Name(), ".tmp-"), "no temporary link left: %s", e.Name())
	}
}

func TestCreateSameMillisecond(t *testing.T) {
	root := t.TempDir()
	dirs := map[string]bool{}
	for i := range 3 {
		r, err := Create(root, "echo", start)
		require.NoError(t, err)
		require.False(t, dirs[r.Dir()])
		dirs[r.Dir()] = true
		if i > 0 {
			require.True(t, strings.HasSuffix(r.Dir(), fmt.Sprintf("-%d", i)), r.Dir())
		}
		require.Equal(t, resolve(t, r.Dir()), resolve(t, filepath.Join(root, "latest")))
		require.Equal(t, resolve(t, r.Dir()), resolve(t, filepath.Join(root, "echo", "latest")))
		require.NoError(t, r.Close())
	}
}

func TestCreateConcurrent(t *testing.T) {
	root := t.TempDir()
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Go(func() {
			r, err := Create(root, "g-set", start)
			errs[i] = err
			if err == nil {
				dirs[i] = r.Dir()
				errs[i] = r.Close()
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range 8 {
		require.NoError(t, errs[i])
		real := resolve(t, dirs[i])
		require.False(t, seen[real])
		seen[real] = true
	}
	require.True(t, seen[resolve(t, filepath.Join(root, "latest"))], "latest points at one of the runs")
	require.True(t, seen[resolve(t, filepath.Join(root, "g-set", "latest"))])
}

func TestCreateTwoWorkloads(t *testing.T) {
	root := t.TempDir()
	a, err := Create(root, "echo", start)
	require.NoError(t, err)
	defer a.Close()
	b, err := Create(root, "broadcast", start.Add(time.Second))
	require.NoError(t, err)
	defer b.Close()
	require.Equal(t, resolve(t, b.Dir()), resolve(t, filepath.Join(root, "latest")))
	require.Equal(t, resolve(t, b.Dir()), resolve(t, filepath.Join(root, "current")))
	require.Equal(t, resolve(t, a.Dir()), resolve(t, filepath.Join(root, "echo", "latest")))
	require.Equal(t, resolve(t, b.Dir()), resolve(t, filepath.Join(root, "broadcast", "latest")))
}

func TestCreateDefaultRoot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r, err := Create("", "echo", start)
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, filepath.Join("store", "echo", "20240102T030405.006-0700"), r.Dir())
	require.Equal(t, resolve(t, r.Dir()), resolve(t, filepath.Join("store", "latest")))
}

func TestCreateErrors(t *testing.T) {
	root := t.TempDir()
	for _, w := range []string{"", ".", "..", "a/b", `a\b`} {
		_, err := Create(root, w, start)
		require.Error(t, err, "workload %q", w)
	}
	// A root that is a file.
	file := filepath.Join(root, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := Create(file, "echo", start)
	require.Error(t, err)
	// A real directory where the latest link should go.
	root2 := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root2, "latest"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root2, "latest", "x"), nil, 0o644))
	_, err = Create(root2, "echo", start)
	require.Error(t, err)
}

func TestLog(t *testing.T) {
	r, err := Create(t.TempDir(), "echo", start)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(r.Log(), "INFO goroutine %d line %d %s\n", g, i, strings.Repeat("x", 200))
			}
		})
	}
	wg.Wait()
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "idempotent")
	_, err = r.Log().Write([]byte("late\n"))
	require.True(t, errors.Is(err, os.ErrClosed))

	lines := strings.Split(strings.TrimSuffix(readFile(t, filepath.Join(r.Dir(), "jepsen.log")), "\n"), "\n")
	require.Len(t, lines, 800)
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "INFO goroutine "), l)
		require.True(t, strings.HasSuffix(l, strings.Repeat("x", 200)), l)
	}
}

func TestNodeLogPath(t *testing.T) {
	r, err := Create(t.TempDir(), "echo", start)
	require.NoError(t, err)
	defer r.Close()
	logs := filepath.Join(r.Dir(), "node-logs")
	cases := map[string]string{
		"n1":     "n1.log",
		"n10":    "n10.log",
		"lin-kv": "lin-kv.log",
		"../x":   ".._x.log",
		"a/b":    "a_b.log",
		"":       "_.log",
		"..":     "_...log",
		"é":      "__.log",
	}
	for id, want := range cases {
		p := r.NodeLogPath(id)
		require.Equal(t, filepath.Join(logs, want), p, "id %q", id)
		require.Equal(t, logs, filepath.Dir(p))
	}
	require.NoError(t, os.WriteFile(r.NodeLogPath("n1"), []byte("stderr\n"), 0o644))
}

func TestWriteResults(t *testing.T) {
	r, err := Create(t.TempDir(), "echo", start)
	require.NoError(t, err)
	defer r.Close()
	lat := history.NewMap()
	lat.NumKeys = true
	lat.Set("0.5", int64(3)).Set("1", int64(9))
	results := history.NewMap().
		Set("workload", history.NewMap().Set("valid?", true).Set("stable-latencies", lat).Set("lost", history.List{})).
		Set("net", history.NewMap().Set("servers", history.NewMap().Set("msgs-per-op", history.Float(2.5)))).
		Set("valid?", true)
	require.NoError(t, r.WriteResults(results))

	want, err := edn.PrettyMarshal(results)
	require.NoError(t, err)
	require.Equal(t, string(want), readFile(t, filepath.Join(r.Dir(), "results.edn")))

	var got struct {
		Valid    bool `json:"valid?"`
		Workload struct {
			StableLatencies map[string]int64 `json:"stable-latencies"`
			Lost            []int64          `json:"lost"`
		} `json:"workload"`
		Net struct {
			Servers struct {
				MsgsPerOp float64 `json:"msgs-per-op"`
			} `json:"servers"`
		} `json:"net"`
	}
	raw := readFile(t, filepath.Join(r.Dir(), "results.json"))
	require.NoError(t, json.Unmarshal([]byte(raw), &got))
	require.True(t, got.Valid)
	require.Equal(t, map[string]int64{"0.5": 3, "1": 9}, got.Workload.StableLatencies)
	require.Equal(t, []int64{}, got.Workload.Lost)
	require.Equal(t, 2.5, got.Net.Servers.MsgsPerOp)
	require.True(t, strings.HasPrefix(raw, "{\n  \"workload\": {"), "indented, keys in order: %s", raw)

	require.Error(t, r.WriteResults(nil))
	require.Error(t, r.WriteResults(history.NewMap().Set("bad", struct{}{})))
}

func TestWriteHistory(t *testing.T) {
	r, err := Create(t.TempDir(), "lin-kv", start)
	require.NoError(t, err)
	defer r.Close()
	h := history.History{
		{Index: 0, Time: 100, Type: history.Invoke, Process: 0, F: "read", Value: []any{int64(0), nil}},
		{Index: 1, Time: 200, Type: history.Invoke, Process: history.Nemesis, F: "start-partition", Value: history.Keyword("majority")},
		{Index: 2, Time: 300, Type: history.Fail, Process: 0, F: "read", Value: []any{int64(0), nil},
			Error: []any{history.Keyword("key-does-not-exist"), "key does not exist"}},
		{Index: 3, Time: 400, Type: history.Info, Process: history.Nemesis, F: "start-partition", Value: history.JSON(`{"n1":["n2"]}`)},
	}
	require.NoError(t, r.WriteHistory(h))
	require.Equal(t, `{:index 0, :time 100, :type :invoke, :process 0, :f :read, :value [0 nil]}
{:index 1, :time 200, :type :invoke, :process :nemesis, :f :start-partition, :value :majority}
{:index 2, :time 300, :type :fail, :process 0, :f :read, :value [0 nil], :error [:key-does-not-exist "key does not exist"]}
{:index 3, :time 400, :type :info, :process :nemesis, :f :start-partition, :value {"n1" ["n2"]}}
`, readFile(t, filepath.Join(r.Dir(), "history.edn")))
	require.Equal(t, "0\t:invoke\t:read\t[0 nil]\n"+
		":nemesis\t:invoke\t:start-partition\t:majority\n"+
		"0\t:fail\t:read\t[0 nil]\t[:key-does-not-exist key does not exist]\n"+
		":nemesis\t:info\t:start-partition\t{\"n1\" [\"n2\"]}\n",
		readFile(t, filepath.Join(r.Dir(), "history.txt")))
	jsonl := readFile(t, filepath.Join(r.Dir(), "history.jsonl"))
	lines := strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n")
	require.Len(t, lines, 4)
	for i, l := range lines {
		var op struct {
			Index   int64           `json:"index"`
			Process json.RawMessage `json:"process"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &op))
		require.Equal(t, int64(i), op.Index)
	}
	require.Equal(t, `{"index":3,"time":400,"type":"info","process":"nemesis","f":"start-partition","value":{"n1":["n2"]}}`, lines[3])

	// An unprintable value fails the call and names the op.
	h = append(h, history.Op{Index: 4, Type: history.OK, F: "read", Value: struct{}{}})
	err = r.WriteHistory(h)
	require.Error(t, err)
	require.Contains(t, err.Error(), "op 4")

	// An empty history gives empty files.
	require.NoError(t, r.WriteHistory(nil))
	require.Empty(t, readFile(t, filepath.Join(r.Dir(), "history.edn")))
}

func TestWriteJournal(t *testing.T) {
	r, err := Create(t.TempDir(), "echo", start)
	require.NoError(t, err)
	defer r.Close()
	events := []journal.Event{
		{Time: 1, Kind: journal.Send, ID: 0, Src: "c1", Dest: "n1", Body: json.RawMessage(`{"type":"echo","echo":"hi","msg_id":1}`)},
		{Time: 2, Kind: journal.Recv, ID: 0, Src: "c1", Dest: "n1", Body: json.RawMessage("{\n  \"type\": \"echo\"\n}")},
		{Time: 3, Kind: journal.Send, ID: 1, Src: "n1", Dest: "c\"1", Body: json.RawMessage(`not json`)},
		{Time: 4, Kind: journal.Send, ID: 2, Src: "n1", Dest: "lin-kv", Body: nil},
	}
	require.NoError(t, r.WriteJournal(events))
	got := readFile(t, filepath.Join(r.Dir(), "net-journal.jsonl"))
	require.Equal(t, `{"time":1,"type":"send","id":0,"src":"c1","dest":"n1","body":{"type":"echo","echo":"hi","msg_id":1}}
{"time":2,"type":"recv","id":0,"src":"c1","dest":"n1","body":{"type":"echo"}}
{"time":3,"type":"send","id":1,"src":"n1","dest":"c\"1","body":"not json"}
{"time":4,"type":"send","id":2,"src":"n1","dest":"lin-kv","body":null}
`, got)
	sc := bufio.NewScanner(strings.NewReader(got))
	for sc.Scan() {
		require.True(t, json.Valid(sc.Bytes()), sc.Text())
	}
}

func TestWriteTestAndFiles(t *testing.T) {
	r, err := Create(t.TempDir(), "echo", start)
	require.NoError(t, err)
	defer r.Close()
	type opts struct {
		Workload string `json:"workload"`
		Seed     int64  `json:"seed"`
	}
	require.NoError(t, r.WriteTest(opts{Workload: "echo", Seed: 42}))
	var back opts
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(r.Dir(), "test.json"))), &back))
	require.Equal(t, opts{Workload: "echo", Seed: 42}, back)
	require.Error(t, r.WriteTest(func() {}))

	require.NoError(t, r.WriteFile(filepath.Join("independent", "0", "results.edn"), []byte("{}\n")))
	require.Equal(t, "{}\n", readFile(t, filepath.Join(r.Dir(), "independent", "0", "results.edn")))
	for _, bad := range []string{"../escape", "/abs", "", "a/../../b"} {
		require.Error(t, r.WriteFile(bad, nil), bad)
	}
	p, err := r.Path("messages.svg")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(r.Dir(), "messages.svg"), p)
}
