package workload

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/kafka"
)

// kafkaMapping is Maelstrom's kafka client's error mapping: assign (a
// list_committed_offsets read) is idempotent; sends and polls go
// indeterminate on a timeout or an indefinite error.
var kafkaMapping = Mapping{Maps: true, Idempotent: map[string]bool{kafka.FAssign: true}}

// kafkaWorkload wires the kafka package's generator, client and checker to
// eddy's framework. Each eddy *Client carries one kafka.Client (the keys it
// holds and their offsets); the workload is not Reusable, so a crash (an
// :info) closes the *Client and the thread's next op starts with a fresh
// kafka.Client, as Maelstrom's crash replaces the client.
func kafkaWorkload(p Params) (*Workload, error) {
	start := time.Now()
	clock := func() time.Duration { return time.Since(start) }
	gen, err := kafka.NewGenerator(kafka.Params{KeyCount: p.KeyCount, MaxWritesPerKey: p.MaxWritesPerKey,
		Concurrency: p.Concurrency, Rand: p.Rand, Clock: clock})
	if err != nil {
		return nil, err
	}
	finalRand := rand.New(rand.NewPCG(p.Rand.Uint64(), p.Rand.Uint64()))
	var mu sync.Mutex
	clients := map[*Client]*kafka.Client{}
	return &Workload{
		Name:    "kafka",
		Mapping: kafkaMapping,
		Timeout: defaultTimeout,
		Generator: genFunc(func(t int) (Op, bool) {
			op, more := gen.Next(t)
			return Op(op), more
		}),
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			mu.Lock()
			kc := clients[c]
			if kc == nil {
				kc = kafka.NewClient()
				kc.Timeout = c.timeout
				kc.MapError = func(op kafka.Op, err error) kafka.Outcome {
					return kafka.Outcome(c.mapping.Failed(op.F, op.Value, err))
				}
				clients[c] = kc
			}
			mu.Unlock()
			out := kc.Invoke(ctx, kafkaTransport{c}, kafka.Op(op))
			gen.Update(kafka.Op(op), out)
			if out.Type == history.Info {
				// The framework closes c after an :info; its state goes with it.
				mu.Lock()
				delete(clients, c)
				mu.Unlock()
			}
			return Outcome(out)
		},
		// The final phase polls up to the offsets the main phase saw, so it
		// is built from the generator's targets when it begins.
		Final: func() FinalGen {
			return &kafkaFinal{f: kafka.NewFinal(gen.Targets(), finalRand, clock)}
		},
		Check: func(h history.History, env CheckEnv) *history.Map {
			return kafka.Check(h, kafka.Options{WriteFile: env.WriteFile})
		},
	}, nil
}

// kafkaFinal adapts kafka.Final, Maelstrom's per-thread final generator, to
// FinalGen.
type kafkaFinal struct{ f *kafka.Final }

func (k *kafkaFinal) Next(t int) (Op, time.Duration, bool) {
	op, wait, more := k.f.Next(t)
	return Op(op), wait, more
}

func (k *kafkaFinal) Update(t int, op Op, out Outcome) {
	k.f.Update(t, kafka.Op(op), kafka.Outcome(out))
}

// kafkaReq is a kafka request body (a typed struct of the kafka package)
// sent through Client.Call, which sets the msg_id in the Header.
type kafkaReq struct {
	Header
	body any
}

func (r *kafkaReq) MarshalJSON() ([]byte, error) { return kafka.WithMsgID(r.body, r.MsgID) }

// kafkaTransport is a kafka.Transport over an eddy client. Error replies
// are read here, with the same decoding as every other workload's (codes
// off Maelstrom's table included), so the kafka client sees an *RPCError
// for them and maps it with kafkaMapping.
type kafkaTransport struct{ c *Client }

func (t kafkaTransport) Call(ctx context.Context, body any, timeout time.Duration) (json.RawMessage, error) {
	raw, err := t.c.Call(ctx, &kafkaReq{body: body}, timeout)
	if err != nil {
		return nil, err
	}
	var h struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &h) == nil && h.Type == "error" {
		_, err := Decode(raw, Schema{Type: "error"})
		return nil, err
	}
	return raw, nil
}
