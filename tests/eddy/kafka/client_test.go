package kafka

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// script is a Transport that records requests and answers from a list.
type script struct {
	reqs    []string
	replies []any // string (a JSON body) or error
}

func (s *script) Call(_ context.Context, body any, _ time.Duration) (json.RawMessage, error) {
	raw, err := WithMsgID(body, int64(len(s.reqs)+1))
	if err != nil {
		return nil, err
	}
	s.reqs = append(s.reqs, string(raw))
	r := s.replies[0]
	s.replies = s.replies[1:]
	if err, ok := r.(error); ok {
		return nil, err
	}
	return json.RawMessage(r.(string)), nil
}

func TestClientSendPollCommit(t *testing.T) {
	c := NewClient()
	tr := &script{replies: []any{
		`{"type":"send_ok","in_reply_to":1,"offset":12}`,
		`{"type":"poll_ok","in_reply_to":2,"msgs":{}}`,
		`{"type":"list_committed_offsets_ok","in_reply_to":3,"offsets":{"1":4}}`,
		`{"type":"poll_ok","in_reply_to":4,"msgs":{"1":[[4,7],[6,{"b":1,"a":2}]],"2":[]}}`,
		`{"type":"commit_offsets_ok","in_reply_to":5}`,
		`{"type":"list_committed_offsets_ok","in_reply_to":6,"offsets":{"1":1,"3":9}}`,
	}}
	ctx := context.Background()
	out := c.Invoke(ctx, tr, Op{F: FSend, Value: sendInv("1", 7)})
	require.Equal(t, Outcome{Type: history.OK, Value: sendOK("1", 12, 7)}, out)

	out = c.Invoke(ctx, tr, Op{F: FPoll, Value: pollInv()})
	require.Equal(t, history.OK, out.Type)
	require.Equal(t, `[[:poll {}]]`, ednOf(t, out.Value))

	out = c.Invoke(ctx, tr, Op{F: FAssign, Value: []any{"1", "2"}})
	require.Equal(t, Outcome{Type: history.OK, Value: []any{"1", "2"}}, out)
	require.Equal(t, map[string]int64{"1": 4, "2": 0}, c.Offsets())

	out = c.Invoke(ctx, tr, Op{F: FPoll, Value: pollInv()})
	require.Equal(t, history.OK, out.Type)
	require.Equal(t, `[[:poll {"1" [[4 7] [6 {"a" 2, "b" 1}]], "2" []}]]`, ednOf(t, out.Value))
	require.Equal(t, map[string]int64{"1": 7, "2": 0}, c.Offsets())

	// Keys held keep their position; new ones start at the committed
	// offset, or 0.
	out = c.Invoke(ctx, tr, Op{F: FAssign, Value: []any{"1", "3", "4"}})
	require.Equal(t, history.OK, out.Type)
	require.Equal(t, map[string]int64{"1": 7, "3": 9, "4": 0}, c.Offsets())

	require.Equal(t, []string{
		`{"key":"1","msg":7,"msg_id":1,"type":"send"}`,
		`{"msg_id":2,"offsets":{},"type":"poll"}`,
		`{"keys":["1","2"],"msg_id":3,"type":"list_committed_offsets"}`,
		`{"msg_id":4,"offsets":{"1":4,"2":0},"type":"poll"}`,
		`{"msg_id":5,"offsets":{"1":6},"type":"commit_offsets"}`,
		`{"keys":["1","3","4"],"msg_id":6,"type":"list_committed_offsets"}`,
	}, tr.reqs)

	// The final assign seeks to the beginning without asking the node.
	out = c.Invoke(ctx, tr, Op{F: FAssign, Value: []any{"1", "5"}, Final: true})
	require.Equal(t, history.OK, out.Type)
	require.Equal(t, map[string]int64{"1": 0, "5": 0}, c.Offsets())
	require.Len(t, tr.reqs, 6)
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		op    Op
		reply any
		want  Outcome
	}{
		{"send timeout", Op{F: FSend, Value: sendInv("1", 3)}, ErrTimeout,
			Outcome{Type: history.Info, Value: sendInv("1", 3), Error: history.Keyword("net-timeout")}},
		{"send definite", Op{F: FSend, Value: sendInv("1", 3)}, `{"type":"error","in_reply_to":1,"code":11,"text":"busy"}`,
			Outcome{Type: history.Fail, Value: sendInv("1", 3), Error: []any{history.Keyword("temporarily-unavailable"), "busy"}}},
		{"send indefinite", Op{F: FSend, Value: sendInv("1", 3)}, `{"type":"error","in_reply_to":1,"code":13,"text":"x"}`,
			Outcome{Type: history.Info, Value: sendInv("1", 3), Error: []any{history.Keyword("crash"), "x"}}},
		{"poll user code", Op{F: FPoll, Value: pollInv()}, `{"type":"error","in_reply_to":1,"code":1000,"text":""}`,
			Outcome{Type: history.Info, Value: pollInv(), Error: []any{history.Keyword("unknown"), ""}}},
		{"assign timeout fails", Op{F: FAssign, Value: []any{"1"}}, ErrTimeout,
			Outcome{Type: history.Fail, Value: []any{"1"}, Error: history.Keyword("net-timeout")}},
		{"assign indefinite fails", Op{F: FAssign, Value: []any{"1"}}, `{"type":"error","in_reply_to":1,"code":13}`,
			Outcome{Type: history.Fail, Value: []any{"1"}, Error: []any{history.Keyword("crash"), ""}}},
		{"crash", Op{F: FCrash}, nil, Outcome{Type: history.Info}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := &script{replies: []any{c.reply}}
			require.Equal(t, c.want, NewClient().Invoke(ctx, tr, c.op))
		})
	}
}

// TestClientMalformed: replies that break Maelstrom's schemas complete as
// :info exceptions, and leave the client's offsets alone.
func TestClientMalformed(t *testing.T) {
	bad := map[string][]string{
		FSend: {`{"type":"send_ok","in_reply_to":1,"offset":1.5}`, `{"type":"send_ok","in_reply_to":1}`,
			`{"type":"send_ok","in_reply_to":1,"offset":1,"extra":2}`, `{"type":"poll_ok","in_reply_to":1,"offset":1}`,
			`{"type":"send_ok","offset":1}`, `[]`, `{"type":"send_ok","in_reply_to":1,"msg_id":"x","offset":1}`},
		FPoll: {`{"type":"poll_ok","in_reply_to":1,"msgs":[]}`, `{"type":"poll_ok","in_reply_to":1,"msgs":{"1":[[1]]}}`,
			`{"type":"poll_ok","in_reply_to":1,"msgs":{"1":[["a",1]]}}`, `{"type":"poll_ok","in_reply_to":1,"msgs":{"1":3}}`,
			`{"type":"poll_ok","in_reply_to":1,"msgs":null}`, `{"type":"poll_ok","in_reply_to":1,"msgs":{"1":null}}`,
			`{"type":"poll_ok","in_reply_to":1,"msgs":{"1":[null]}}`},
		FAssign: {`{"type":"list_committed_offsets_ok","in_reply_to":1,"offsets":{"1":"x"}}`,
			`{"type":"list_committed_offsets_ok","in_reply_to":1,"offsets":[]}`},
	}
	ops := map[string]Op{FSend: {F: FSend, Value: sendInv("1", 3)}, FPoll: {F: FPoll, Value: pollInv()},
		FAssign: {F: FAssign, Value: []any{"1"}}}
	for f, replies := range bad {
		for _, r := range replies {
			c := NewClient()
			out := c.Invoke(context.Background(), &script{replies: []any{r}}, ops[f])
			require.Equal(t, history.Info, out.Type, "%s: %s", f, r)
			require.NotEmpty(t, out.Exception, r)
			require.Equal(t, ops[f].Value, out.Value)
			require.Empty(t, c.Offsets())
		}
	}
	// Op values the generator never makes are refused without a call.
	for _, op := range []Op{{F: FSend, Value: "x"}, {F: FAssign, Value: []any{int64(1)}}, {F: "nope"}} {
		out := NewClient().Invoke(context.Background(), &script{}, op)
		require.Equal(t, history.Info, out.Type)
	}
}

// FuzzDecode: no reply body makes the decoders panic, and whatever they
// accept has exact integers.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"poll_ok","in_reply_to":1,"msgs":{"1":[[4,7],[6,{"b":1}]]}}`,
		`{"type":"send_ok","in_reply_to":1,"offset":12}`,
		`{"type":"list_committed_offsets_ok","in_reply_to":3,"offsets":{"1":4}}`,
		`{"type":"error","in_reply_to":1,"code":11}`, `{"type":"poll_ok","in_reply_to":1,"msgs":{"1":[[1e3,1]]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = DecodeSend(raw)
		_, _ = DecodeListCommitted(raw)
		p, err := DecodePoll(raw)
		if err == nil {
			for _, ms := range p.Msgs {
				for _, m := range ms {
					if _, ok := m.Msg.(int64); !ok {
						_ = m.Msg.(history.JSON)
					}
				}
			}
		}
	})
}
