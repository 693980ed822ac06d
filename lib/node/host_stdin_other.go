//go:build !linux

package node

import "io"

// unread is 0 where the bytes waiting on stdin are not asked of the
// system: only the reader's state and the inbox tell that the input is
// drained (Node.inputDrained).
func unread(io.Reader) int { return 0 }
