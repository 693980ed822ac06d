package services

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var seedFlag = flag.Uint64("seed", 0, "seed for property tests (0: time-based)")

func testRand(t *testing.T) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with -seed=%d", seed)
		}
	})
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// step is one request and the exact reply expected ("" for no reply).
type step struct {
	src   string
	req   string
	reply string
}

func run(t *testing.T, s Service, steps []step) {
	t.Helper()
	for i, st := range steps {
		src := st.src
		if src == "" {
			src = "n1"
		}
		got, err := s.Handle(src, json.RawMessage(st.req))
		if st.reply == "" {
			require.Error(t, err, "step %d %s: expected no reply, got %s", i, st.req, got)
			require.Nil(t, got)
			continue
		}
		require.NoError(t, err, "step %d %s", i, st.req)
		require.JSONEq(t, st.reply, string(got), "step %d %s", i, st.req)
		require.Equal(t, st.reply, string(got), "step %d %s: exact bytes", i, st.req)
	}
}

// kvTable is the behaviour every KV service shows to a single caller
// talking to one replica. createIfNotExists: whether cas honours the flag.
func kvTable(createIfNotExists bool) []step {
	casCreate := `{"type":"cas_ok","in_reply_to":20}`
	readCreated := `{"type":"read_ok","value":"new","in_reply_to":21}`
	if !createIfNotExists {
		casCreate = `{"type":"error","code":20,"text":"key does not exist","in_reply_to":20}`
		readCreated = `{"type":"error","code":20,"text":"key does not exist","in_reply_to":21}`
	}
	casString5 := `{"type":"error","code":22,"text":"current value 5 is not \"5\"","in_reply_to":7}`
	if !createIfNotExists {
		casString5 = `{"type":"error","code":22,"text":"current value 5 is not 5","in_reply_to":7}`
	}
	casCreateNull := `{"type":"cas_ok","in_reply_to":43}`
	readCreatedNull := `{"type":"read_ok","value":null,"in_reply_to":44}`
	// lin-kv and seq-kv print from with pr-str, lww-kv with str.
	casNilFrom := `{"type":"error","code":22,"text":"current value 7 is not nil","in_reply_to":38}`
	casStringFrom := `{"type":"error","code":22,"text":"current value {\"a\" [\"x\" nil]} is not \"s\"","in_reply_to":47}`
	if !createIfNotExists {
		casCreateNull = `{"type":"error","code":20,"text":"key does not exist","in_reply_to":43}`
		readCreatedNull = `{"type":"error","code":20,"text":"key does not exist","in_reply_to":44}`
		casNilFrom = `{"type":"error","code":22,"text":"current value 7 is not ","in_reply_to":38}`
		casStringFrom = `{"type":"error","code":22,"text":"current value {\"a\" [\"x\" nil]} is not s","in_reply_to":47}`
	}
	return []step{
		{req: `{"type":"read","key":1,"msg_id":1}`, reply: `{"type":"error","code":20,"text":"key does not exist","in_reply_to":1}`},
		{req: `{"type":"write","key":1,"value":5,"msg_id":2}`, reply: `{"type":"write_ok","in_reply_to":2}`},
		{req: `{"type":"read","key":1,"msg_id":3}`, reply: `{"type":"read_ok","value":5,"in_reply_to":3}`},
		// JSON value equality: "1", 1.0 are other keys than 1.
		{req: `{"type":"read","key":"1","msg_id":4}`, reply: `{"type":"error","code":20,"text":"key does not exist","in_reply_to":4}`},
		{req: `{"type":"read","key":1.0,"msg_id":5}`, reply: `{"type":"error","code":20,"text":"key does not exist","in_reply_to":5}`},
		{req: `{"type":"cas","key":1,"from":5.0,"to":6,"msg_id":6}`, reply: `{"type":"error","code":22,"text":"current value 5 is not 5.0","in_reply_to":6}`},
		{req: `{"type":"cas","key":1,"from":"5","to":6,"msg_id":7}`, reply: casString5},
		{req: `{"type":"cas","key":1,"from":5,"to":6,"msg_id":8}`, reply: `{"type":"cas_ok","in_reply_to":8}`},
		{req: `{"type":"read","key":1,"msg_id":9}`, reply: `{"type":"read_ok","value":6,"in_reply_to":9}`},
		{req: `{"type":"cas","key":2,"from":1,"to":2,"msg_id":10}`, reply: `{"type":"error","code":20,"text":"key does not exist","in_reply_to":10}`},
		{req: `{"type":"cas","key":2,"from":1,"to":2,"create_if_not_exists":false,"msg_id":11}`, reply: `{"type":"error","code":20,"text":"key does not exist","in_reply_to":11}`},
		// Values come back as written; keys compare as values.
		{req: `{"type":"write","key":{"b":1,"a":[1,2]},"value":{"z": 1.50, "a" : [ "x" ]},"msg_id":12}`, reply: `{"type":"write_ok","in_reply_to":12}`},
		{req: `{"type":"read","key":{"a":[1,2],"b":1},"msg_id":13}`, reply: `{"type":"read_ok","value":{"z":1.50,"a":["x"]},"in_reply_to":13}`},
		{req: `{"type":"cas","key":{"a":[1,2],"b":1},"from":{"a":["x"],"z":1.5},"to":null,"msg_id":14}`, reply: `{"type":"cas_ok","in_reply_to":14}`},
		{req: `{"type":"read","key":{"a":[1,2],"b":1},"msg_id":15}`, reply: `{"type":"read_ok","value":null,"in_reply_to":15}`},
		// null is a key like any other.
		{req: `{"type":"write","key":null,"value":"n","msg_id":16}`, reply: `{"type":"write_ok","in_reply_to":16}`},
		{req: `{"type":"read","key":null,"msg_id":17}`, reply: `{"type":"read_ok","value":"n","in_reply_to":17}`},
		// Big integers stay exact.
		{req: `{"type":"write","key":9007199254740993,"value":9223372036854775807,"msg_id":18}`, reply: `{"type":"write_ok","in_reply_to":18}`},
		{req: `{"type":"read","key":9007199254740993,"msg_id":19}`, reply: `{"type":"read_ok","value":9223372036854775807,"in_reply_to":19}`},
		{req: `{"type":"cas","key":"fresh","from":0,"to":"new","create_if_not_exists":true,"msg_id":20}`, reply: casCreate},
		{req: `{"type":"read","key":"fresh","msg_id":21}`, reply: readCreated},
		// in_reply_to: null when there is no msg_id, copied as given otherwise.
		{req: `{"type":"read","key":1}`, reply: `{"type":"read_ok","value":6,"in_reply_to":null}`},
		{req: `{"type":"read","key":1,"msg_id":"abc"}`, reply: `{"type":"read_ok","value":6,"in_reply_to":"abc"}`},
		// A number comes back as Maelstrom writes it after parsing it.
		{req: `{"type":"read","key":1,"msg_id":18446744073709551617}`, reply: `{"type":"read_ok","value":6,"in_reply_to":18446744073709551617}`},
		{req: `{"type":"read","key":1,"msg_id":-0}`, reply: `{"type":"read_ok","value":6,"in_reply_to":0}`},
		{req: `{"type":"read","key":1,"msg_id":1e3}`, reply: `{"type":"read_ok","value":6,"in_reply_to":1000.0}`},
		{req: `{"type":"read","key":1,"msg_id":1.50}`, reply: `{"type":"read_ok","value":6,"in_reply_to":1.5}`},
		{req: `{"type":"read","key":1,"msg_id":1e400}`, reply: `{"type":"read_ok","value":6,"in_reply_to":"Infinity"}`},
		// A missing field reads as null, as Maelstrom's (:key body) does.
		// The key null holds "n" (step 16); key 1 holds 6.
		{req: `{"type":"read","msg_id":30}`, reply: `{"type":"read_ok","value":"n","in_reply_to":30}`},
		{req: `{"type":"read","Key":1,"msg_id":31}`, reply: `{"type":"read_ok","value":"n","in_reply_to":31}`},
		{req: `{"type":"write","value":"m","msg_id":32}`, reply: `{"type":"write_ok","in_reply_to":32}`},
		{req: `{"type":"read","key":null,"msg_id":33}`, reply: `{"type":"read_ok","value":"m","in_reply_to":33}`},
		{req: `{"type":"write","key":1,"msg_id":34}`, reply: `{"type":"write_ok","in_reply_to":34}`},
		{req: `{"type":"read","key":1,"msg_id":35}`, reply: `{"type":"read_ok","value":null,"in_reply_to":35}`},
		{req: `{"type":"cas","key":1,"to":7,"msg_id":36}`, reply: `{"type":"cas_ok","in_reply_to":36}`},
		{req: `{"type":"read","key":1,"msg_id":37}`, reply: `{"type":"read_ok","value":7,"in_reply_to":37}`},
		{req: `{"type":"cas","key":1,"to":8,"msg_id":38}`, reply: casNilFrom},
		{req: `{"type":"cas","key":1,"from":7,"msg_id":39}`, reply: `{"type":"cas_ok","in_reply_to":39}`},
		{req: `{"type":"read","key":1,"msg_id":40}`, reply: `{"type":"read_ok","value":null,"in_reply_to":40}`},
		{req: `{"type":"cas","from":"m","to":"o","msg_id":41}`, reply: `{"type":"cas_ok","in_reply_to":41}`},
		{req: `{"type":"read","msg_id":42}`, reply: `{"type":"read_ok","value":"o","in_reply_to":42}`},
		{req: `{"type":"cas","key":"fresh2","from":0,"create_if_not_exists":true,"msg_id":43}`, reply: casCreateNull},
		{req: `{"type":"read","key":"fresh2","msg_id":44}`, reply: readCreatedNull},
		{req: `{"type":"cas","key":"absent","msg_id":45}`, reply: `{"type":"error","code":20,"text":"key does not exist","in_reply_to":45}`},
		// The text of error 22 prints from and the value as Clojure does.
		{req: `{"type":"write","key":2,"value":{"a":["x",null]},"msg_id":46}`, reply: `{"type":"write_ok","in_reply_to":46}`},
		{req: `{"type":"cas","key":2,"from":"s","to":1,"msg_id":47}`, reply: casStringFrom},
		// No reply at all.
		{req: `{"type":"ts","msg_id":40}`},
		{req: `{"type":"delete","key":1,"msg_id":41}`},
		{req: `{"key":1,"msg_id":42}`},
		{req: `{"type":3,"key":1,"msg_id":43}`},
		{req: `{"type":null,"key":1,"msg_id":44}`},
		{req: `{"Type":"read","key":1,"msg_id":45}`},
		{req: `[1,2]`},
		{req: `"read"`},
		{req: `null`},
		{req: ``},
		{req: `{"type":"read"`},
	}
}

func TestLinKVTable(t *testing.T) {
	run(t, NewLinKV(), kvTable(true))
}

// With one caller, seq-kv answers like lin-kv: the caller is the only
// writer, so it is always at the newest state.
func TestSeqKVTableSingleCaller(t *testing.T) {
	run(t, NewSeqKV(testRand(t)), kvTable(true))
}

func TestLWWKVTableOneReplica(t *testing.T) {
	// Both replica slots share one map: what a caller of one replica sees.
	s := NewLWWKV(testRand(t))
	s.replicas[1] = s.replicas[0]
	run(t, s, kvTable(false))
}

func TestLinTSO(t *testing.T) {
	s := NewLinTSO()
	for i := range 100 {
		got, err := s.Handle(fmt.Sprintf("n%d", i%3), json.RawMessage(fmt.Sprintf(`{"type":"ts","msg_id":%d}`, i+1)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf(`{"type":"ts_ok","ts":%d,"in_reply_to":%d}`, i, i+1), string(got))
	}
	run(t, s, []step{
		{req: `{"type":"ts"}`, reply: `{"type":"ts_ok","ts":100,"in_reply_to":null}`},
		{req: `{"type":"read","key":1,"msg_id":1}`},
		{req: `{"type":"TS","msg_id":1}`},
		{req: `[]`},
		{req: `{"type":"ts","msg_id":2}`, reply: `{"type":"ts_ok","ts":101,"in_reply_to":2}`},
	})
}

func TestNew(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range Names {
		s, err := New(name, r)
		require.NoError(t, err)
		require.Equal(t, name, s.Name())
	}
	_, err := New("lin-tso", nil)
	require.NoError(t, err)
	_, err = New("lin-kv", nil)
	require.NoError(t, err)
	for _, name := range []string{"seq-kv", "lww-kv"} {
		_, err = New(name, nil)
		require.Error(t, err)
	}
	_, err = New("txn-kv", r)
	require.Error(t, err)
	require.Equal(t, [...]string{"lin-kv", "seq-kv", "lww-kv", "lin-tso"}, Names)
}

func TestValueKey(t *testing.T) {
	same := [][2]string{
		{`1`, ` 1 `},
		{`1.0`, `1.00`},
		{`1.5`, `15e-1`},
		{`0.0`, `-0.0`},
		{`-0`, `0`},
		{`{"a":1,"b":[1,"x"]}`, `{"b":[1,"x"],"a":1}`},
		{`"\u0041"`, `"A"`},
		{`123456789012345678901234567890`, `123456789012345678901234567890`},
		{`1e400`, `2e400`}, // both Infinity, as Java's parser reads them
	}
	differ := [][2]string{
		{`1`, `1.0`},
		{`1`, `"1"`},
		{`1`, `1e0`},
		{`null`, `"null"`},
		{`false`, `0`},
		{`[1,2]`, `[2,1]`},
		{`{"a":1}`, `{"a":1,"b":null}`},
		{`9007199254740993`, `9007199254740992`},
		{`[]`, `{}`},
	}
	key := func(s string) string {
		k, err := valueKey([]byte(s))
		require.NoError(t, err, s)
		return k
	}
	for _, p := range same {
		require.Equal(t, key(p[0]), key(p[1]), "%s vs %s", p[0], p[1])
	}
	for _, p := range differ {
		require.NotEqual(t, key(p[0]), key(p[1]), "%s vs %s", p[0], p[1])
	}
	_, err := valueKey([]byte(`1 2`))
	require.Error(t, err)
}

func TestConcurrentHandleIsSafe(t *testing.T) {
	r := testRand(t)
	for _, name := range Names {
		s, err := New(name, rand.New(rand.NewPCG(r.Uint64(), r.Uint64())))
		require.NoError(t, err)
		done := make(chan error, 4)
		for g := range 4 {
			go func() {
				for i := range 200 {
					body := fmt.Sprintf(`{"type":"write","key":%d,"value":%d,"msg_id":%d}`, i%5, g, i)
					if name == "lin-tso" {
						body = `{"type":"ts"}`
					}
					if _, err := s.Handle(fmt.Sprintf("n%d", g), json.RawMessage(body)); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for range 4 {
			require.NoError(t, <-done)
		}
	}
}

// Maelstrom's services parse the request and write its msg_id back as
// in_reply_to, so numbers take Jackson's form.
func TestInReplyToAsMaelstromWritesIt(t *testing.T) {
	for in, want := range map[string]string{
		`7`:                              `7`,
		`-0`:                             `0`,
		`-12`:                            `-12`,
		`123456789012345678901234567890`: `123456789012345678901234567890`,
		`1.0`:                            `1.0`,
		`1.50`:                           `1.5`,
		`1e3`:                            `1000.0`,
		`1E3`:                            `1000.0`,
		`-0.0`:                           `-0.0`,
		`2.5e-5`:                         `2.5E-5`,
		`12345678.9`:                     `1.23456789E7`,
		`1e400`:                          `"Infinity"`,
		`-1e400`:                         `"-Infinity"`,
		`"7"`:                            `"7"`,
		`[1]`:                            `[1]`,
		`true`:                           `true`,
	} {
		require.Equal(t, want, string(jacksonNumber(json.RawMessage(in))), in)
		got, err := NewLinTSO().Handle("n1", json.RawMessage(`{"type":"ts","msg_id":`+in+`}`))
		require.NoError(t, err, in)
		require.Equal(t, `{"type":"ts_ok","ts":0,"in_reply_to":`+want+`}`, string(got), in)
	}
}

// On seq-kv a write without value stores null, a change that moves the
// state on; the same write again changes nothing and adds no state.
func TestSeqKVMissingValueIsNull(t *testing.T) {
	s := NewSeqKV(testRand(t))
	run(t, s, []step{
		{req: `{"type":"write","key":"k","value":1,"msg_id":1}`, reply: `{"type":"write_ok","in_reply_to":1}`},
		{req: `{"type":"write","key":"k","msg_id":2}`, reply: `{"type":"write_ok","in_reply_to":2}`},
	})
	require.Equal(t, int64(2), s.last)
	run(t, s, []step{
		{req: `{"type":"write","key":"k","value":null,"msg_id":3}`, reply: `{"type":"write_ok","in_reply_to":3}`},
		{req: `{"type":"cas","key":"k","to":null,"msg_id":4}`, reply: `{"type":"cas_ok","in_reply_to":4}`},
		{req: `{"type":"read","key":"k","msg_id":5}`, reply: `{"type":"read_ok","value":null,"in_reply_to":5}`},
	})
	require.Equal(t, int64(2), s.last, "writing null over null changes nothing")
}
