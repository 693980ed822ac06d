// Package node is the runtime every maelkit node binary runs on: it reads
// Maelstrom messages from stdin, dispatches them to typed handlers, correlates
// RPC replies, runs timers, and writes messages to stdout.
//
// It reuses the official Go package's wire types and error codes
// (maelstrom.Message, maelstrom.RPCError, maelstrom.Crash, ...) but replaces
// its read loop, dispatch, RPC table and writer, which have known defects
// (64 KiB line limit, exit on an unknown type, leaked RPC callbacks, float64
// bodies, unsendable error code 0, in_reply_to:0 replies, handlers racing
// with init).
//
// # Contract
//
// Loop ownership. One goroutine, the event loop started by Run, owns all node
// state. Handlers, RPC callbacks, timer functions, OnInit and OnIdle hooks all
// run on it, one at a time, so node code needs no locks. Methods of Node and
// Request must be called from the loop, or before Run starts. A reader
// goroutine decodes stdin and a writer goroutine writes stdout; neither
// touches node state.
//
// What gets a reply. A request carrying a positive msg_id gets at most one
// reply: the one the handler sends with Request.Reply (now or later, from a
// callback), or, if the handler returns an error before replying, an error
// reply (the *maelstrom.RPCError's code, otherwise 13 crash with the error
// text). A handler panic is recovered and answered with 13. A body that does
// not decode gets 12 (malformed-request), a type without a handler gets 10
// (not-supported). A request without msg_id never gets a reply, not even an
// error. A message with a positive in_reply_to is a reply: it goes to the
// pending call it answers or is dropped with a debug log.
//
// Replies. A reply body is exactly the reply value's JSON fields followed by
// "in_reply_to"; requests sent with Call carry "msg_id" after the body's
// fields. Node-originated msg_ids start at 1. Error code 0 (timeout) is sent
// like any other code, and an incoming "error" reply with code 0 is an error.
//
// RPC. A callback passed to Call or CallRetry runs exactly once, on the loop:
// with the reply, with an error reply as a *maelstrom.RPCError, with a
// timeout (*maelstrom.RPCError code 0), or with ErrStopped if Run ends first.
// The pending entry is removed in every case. If Call returns an error the
// callback never runs. Calls to one destination are bounded by
// Config.PeerInflightMax; excess calls wait in a FIFO queue, and their
// deadline starts when they are sent.
//
// Init. An init is applied whole or not at all. A good one (node_id a
// non-empty string, node_ids distinct non-empty strings that include it)
// sets ID and NodeIDs, runs the OnInit hooks and answers init_ok; messages
// that arrive before it are queued (up to Config.PreInitMax) and dispatched
// in arrival order right after init_ok. A malformed init is answered 12 and
// changes nothing. If a hook fails (its error, or 13 for a panic, is the
// reply), the identity is cleared and what the hooks started is undone
// (output they sent is not written, their calls fail with
// ErrNotInitialized, their timers are removed): the node still waits for
// an init, and the next one runs every hook again. A hook must therefore
// build fresh state each time and assign it only once nothing can fail.
// After a good init, the same init again is answered init_ok and changes
// nothing; one naming another identity is refused with 22
// (precondition-failed): a process keeps one identity, and Maelstrom gives
// a restarted process a fresh init.
//
// Bad input never stops the node: malformed lines are logged and dropped, and
// lines longer than Config.LineMaxBytes are skipped without being buffered.
//
// Shutdown. On stdin EOF the loop handles every message already read, fails
// the pending calls with ErrStopped, runs the OnIdle hooks, flushes stdout and
// Run returns nil. Timers still pending never fire.
//
// Logging goes to stderr through log/slog, at warn level unless the
// MAELKIT_LOG environment variable says otherwise (debug logs every message).
// Stdout carries messages only.
package node
