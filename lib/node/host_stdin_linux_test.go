package node

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnread: unread tells the bytes waiting in a pipe, and 0 for a reader
// that is not a file.
func TestUnread(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	require.Zero(t, unread(r))
	_, err = w.WriteString("ab\ncd\n")
	require.NoError(t, err)
	require.Equal(t, 6, unread(r))
	_, err = io.ReadFull(r, make([]byte, 4))
	require.NoError(t, err)
	require.Equal(t, 2, unread(r))
	require.Zero(t, unread(strings.NewReader("ab\n")))
}

// TestInputDrained: the input is drained only while the reader waits in a
// read, stdin holds nothing unread and the inbox is empty. The reader's
// goroutine does not run here: the test sets its state.
func TestInputDrained(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	n, err := New(Config{In: r, Out: io.Discard, Logger: testLogger(t, 0)})
	require.NoError(t, err)
	require.False(t, n.inputDrained(), "before Run")
	n.inbox, n.rd = make(chan *Request, 1), &reader{n: n}
	require.False(t, n.inputDrained(), "the reader is not in a read")
	n.rd.waiting.Store(true)
	require.True(t, n.inputDrained())
	_, err = w.WriteString("{}\n")
	require.NoError(t, err)
	require.False(t, n.inputDrained(), "a line waits in the pipe")
	_, err = io.ReadFull(r, make([]byte, 3))
	require.NoError(t, err)
	require.True(t, n.inputDrained())
	n.inbox <- &Request{}
	require.False(t, n.inputDrained(), "a line waits in the inbox")
}
