package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"
)

// chunkReader returns its data in random-sized reads, to move line ends
// across the bufio buffer's boundaries.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rng.IntN(3*readBufBytes))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// TestLineReaderProperty: for random lines (some far longer than the
// bufio buffer, some over the bound), the reader returns exactly the lines
// within the bound, in order, and reports exactly the skipped lengths.
func TestLineReaderProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	for round := range 30 {
		maxBytes := 1 + rng.IntN(3*readBufBytes)
		var input []byte
		var want []string
		var wantDropped []int64
		lines := 1 + rng.IntN(12)
		for i := range lines {
			var n int
			switch rng.IntN(4) {
			case 0:
				n = rng.IntN(100)
			case 1:
				n = maxBytes + rng.IntN(3) - 1 // around the bound
			default:
				n = rng.IntN(4 * readBufBytes)
			}
			n = max(n, 0)
			line := bytes.Repeat([]byte{byte('a' + i%26)}, n)
			input = append(input, line...)
			last := i == lines-1 && rng.IntN(2) == 0
			if !last {
				input = append(input, '\n')
			}
			switch {
			case n > maxBytes:
				wantDropped = append(wantDropped, int64(n))
			case last && n == 0:
				// an empty unterminated tail is no line
			default:
				want = append(want, string(line))
			}
		}
		var dropped []int64
		lr := newLineReader(&chunkReader{data: input, rng: rng}, maxBytes, func(l int64) { dropped = append(dropped, l) })
		var got []string
		for {
			line, err := lr.next()
			if len(line) > 0 || err == nil {
				got = append(got, string(line))
			}
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
		}
		require.Equal(t, len(want), len(got), "seed %d round %d", seed, round)
		for i := range want {
			require.True(t, want[i] == got[i], "seed %d round %d line %d: len want %d got %d", seed, round, i, len(want[i]), len(got[i]))
		}
		require.Equal(t, wantDropped, dropped, "seed %d round %d", seed, round)
	}
}

// TestLineReaderDoesNotBufferLongLines: skipping a 64 MiB line holds at
// most the bound (1 MiB) plus a buffer: the rest is never kept.
func TestLineReaderDoesNotBufferLongLines(t *testing.T) {
	big := io.MultiReader(io.LimitReader(zeros{}, 64<<20), strings.NewReader("\nok\n"))
	var dropped int64
	lr := newLineReader(big, 1<<20, func(l int64) { dropped = l })
	line, err := lr.next()
	require.NoError(t, err)
	require.Equal(t, "ok", string(line))
	require.Equal(t, int64(64<<20), dropped)
	require.Less(t, cap(lr.acc), 2<<20)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestLineReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	lr := newLineReader(iotest.TimeoutReader(strings.NewReader("abc\ndef")), 10, func(int64) {})
	line, err := lr.next()
	require.NoError(t, err)
	require.Equal(t, "abc", string(line))
	_, err = lr.next()
	require.ErrorIs(t, err, iotest.ErrTimeout)

	lr = newLineReader(io.MultiReader(strings.NewReader(strings.Repeat("x", 50)), iotest.ErrReader(boom)), 10, func(int64) {})
	_, err = lr.next()
	require.ErrorIs(t, err, boom)
}

func TestDecodeLine(t *testing.T) {
	req, err := decodeLine([]byte(` {"id":3,"src":"c1","dest":"n1","body": {"type":"echo","msg_id":9007199254740993,"in_reply_to":4,"code":"not a number"} } `))
	require.NoError(t, err)
	require.Equal(t, "c1", req.Src)
	require.Equal(t, "n1", req.Dest)
	require.Equal(t, "echo", req.Type)
	require.Equal(t, int64(9007199254740993), req.MsgID)
	require.Equal(t, int64(4), req.inReplyTo)
	require.NoError(t, req.decodeErr, "code is not a reserved field outside error bodies")

	for _, bad := range []string{``, `x`, `[]`, `null`, `{}`, `{"src":"c1"}`, `{"src":"c1","body":"s"}`, `{"src":1,"body":{}}`} {
		_, err := decodeLine([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestErrorOf(t *testing.T) {
	for body, want := range map[string]*maelstrom.RPCError{
		`{"type":"error","code":0,"in_reply_to":1}`:          {Code: 0},
		`{"type":"error","in_reply_to":1}`:                   {Code: 0},
		`{"type":"error","code":30,"text":"conflict"}`:       {Code: 30, Text: "conflict"},
		`{"type":"error","code":"11","text":"bad code"}`:     {Code: 0, Text: "bad code"},
		`{"type":"error","code":1001,"text":"user","x":[1]}`: {Code: 1001, Text: "user"},
	} {
		require.Equal(t, want, errorOf(&Request{Type: "error", Body: json.RawMessage(body)}), body)
	}
	require.NoError(t, errorOf(&Request{Type: "read_ok", Body: json.RawMessage(`{"code":5}`)}))
}
