package node

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
)

// Request is one incoming message. Handlers may keep it and Reply later
// (from an RPC callback or a timer), on the loop.
type Request struct {
	Src   string
	Dest  string
	Type  string
	MsgID int64           // 0 when the sender expects no reply
	Body  json.RawMessage // the whole body, reserved fields included

	inReplyTo int64
	decodeErr error // the reserved fields had wrong types
	replied   bool
	n         *Node
}

// String is a compact one-line form for logs: "c1->n1 echo msg_id=3".
func (r *Request) String() string {
	s := r.Src + "->" + r.Dest + " " + r.Type
	if r.MsgID > 0 {
		s += " msg_id=" + strconv.FormatInt(r.MsgID, 10)
	}
	if r.inReplyTo > 0 {
		s += " in_reply_to=" + strconv.FormatInt(r.inReplyTo, 10)
	}
	return s
}

// Reply answers the request with body, in the forms Send accepts (an error
// as *maelstrom.RPCError: any code, 0 included); the runtime adds
// in_reply_to and nothing else. A request without msg_id gets no reply: Reply then does
// nothing and returns nil. A second Reply returns ErrReplied.
func (r *Request) Reply(body any) error {
	n := r.n
	switch {
	case n == nil:
		return errors.New("node: Reply on a request the runtime did not deliver")
	case n.stopped:
		return ErrStopped
	case r.replied:
		return ErrReplied
	case r.MsgID <= 0:
		if n.debug {
			n.log.Debug("not replying to a request without msg_id", "req", r.String())
		}
		return nil
	}
	obj, err := n.enc.object(body)
	if err != nil {
		return err
	}
	r.replied = true
	// Before init the node's own id is unknown; the request's dest is it.
	src := n.id
	if src == "" {
		src = r.Dest
	}
	n.send(src, r.Src, obj, 0, r.MsgID)
	return nil
}

// Handle registers fn for messages of type typ. The body is decoded into a
// fresh T (use int64 for integers and json.RawMessage for opaque values,
// never any/float64); a body that does not decode is answered with 12
// malformed-request. It panics on a duplicate or reserved type ("init",
// "error", ""). Call it before Run.
func Handle[T any](n *Node, typ string, fn func(req *Request, body T) error) {
	n.register(typ, func(req *Request) error {
		var body T
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode "+typ+": "+err.Error())
		}
		return fn(req, body)
	})
}

// initBody is the body of Maelstrom's init message.
type initBody struct {
	NodeID  string   `json:"node_id"`
	NodeIDs []string `json:"node_ids"`
}

// parseInit decodes and checks an init body: node_id a non-empty string,
// node_ids a list of distinct non-empty strings that contains it (Maelstrom
// sends every node the same list, itself included). Anything else is
// malformed (12): a node cannot run on a cluster it is not part of.
func parseInit(req *Request) (id string, ids []string, err error) {
	malformed := func(text string) (string, []string, error) {
		return "", nil, maelstrom.NewRPCError(maelstrom.MalformedRequest, text)
	}
	switch {
	case req.decodeErr == errTooDeep:
		return malformed(errTooDeep.Error())
	case req.decodeErr != nil:
		return malformed("reserved body fields: " + req.decodeErr.Error())
	}
	var b initBody
	if err := json.Unmarshal(req.Body, &b); err != nil {
		return malformed("decode init: " + err.Error())
	}
	switch {
	case b.NodeID == "":
		return malformed("init has no node_id")
	case len(b.NodeIDs) == 0:
		return malformed("init has no node_ids")
	case !slices.Contains(b.NodeIDs, b.NodeID):
		return malformed(fmt.Sprintf("init: node_id %q is not among node_ids %q", b.NodeID, b.NodeIDs))
	}
	seen := make(map[string]bool, len(b.NodeIDs))
	for _, x := range b.NodeIDs {
		if x == "" || seen[x] {
			return malformed(fmt.Sprintf("init: node_ids %q has an empty or repeated id", b.NodeIDs))
		}
		seen[x] = true
	}
	return b.NodeID, b.NodeIDs, nil
}

// initOK is the answer to init.
type initOK struct {
	Type string `json:"type"`
}

// dispatch routes one message: replies to their calls, init to the init
// logic, early requests to the pre-init queue, the rest to handlers.
func (n *Node) dispatch(req *Request) {
	req.n = n
	if n.debug {
		n.log.Debug("recv", "req", req.String(), "body", string(req.Body))
	}
	switch {
	case req.inReplyTo > 0:
		n.handleReply(req)
	case req.Type == "init":
		n.handleInit(req)
	case n.id == "":
		if len(n.preInit) >= n.cfg.PreInitMax {
			n.log.Warn("pre-init queue full; dropping message", "req", req.String(), "max", n.cfg.PreInitMax)
			return
		}
		n.preInit = append(n.preInit, req)
	default:
		n.serve(req)
	}
}

// serve runs the handler of an ordinary request and answers its failure.
func (n *Node) serve(req *Request) {
	var err error
	h := n.handlers[req.Type]
	switch {
	case req.decodeErr == errTooDeep:
		err = maelstrom.NewRPCError(maelstrom.MalformedRequest, errTooDeep.Error())
	case req.decodeErr != nil:
		err = maelstrom.NewRPCError(maelstrom.MalformedRequest, "reserved body fields: "+req.decodeErr.Error())
	case req.Type == "":
		err = maelstrom.NewRPCError(maelstrom.MalformedRequest, "body has no type")
	case req.Type == "error":
		// An error that answers nothing; answering it could start a ping-pong.
		n.log.Warn("dropped error message that is not a reply", "req", req.String(), "body", truncate(req.Body, 200))
		return
	case h == nil:
		err = maelstrom.NewRPCError(maelstrom.NotSupported, "no handler for type "+strconv.Quote(req.Type))
		if req.MsgID <= 0 {
			n.warnUnknown(req)
			return
		}
	default:
		err = n.invoke(h, req)
	}
	if err != nil {
		n.fail(req, err)
	}
}

// invoke runs a handler, turning a panic into a crash error.
func (n *Node) invoke(h handlerFunc, req *Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("panic in handler", "req", req.String(), "panic", p, "stack", string(debug.Stack()))
			err = maelstrom.NewRPCError(maelstrom.Crash, fmt.Sprintf("panic: %v", p))
		}
	}()
	return h(req)
}

// fail answers a request whose handling failed, if it can still be answered.
func (n *Node) fail(req *Request, err error) {
	var rpcErr *maelstrom.RPCError
	if !errors.As(err, &rpcErr) {
		rpcErr = maelstrom.NewRPCError(maelstrom.Crash, err.Error())
	}
	switch {
	case req.replied:
		n.log.Warn("handler failed after replying", "req", req.String(), "err", err)
		return
	case req.MsgID <= 0:
		n.log.Warn("request without msg_id failed", "req", req.String(), "err", err)
		return
	}
	if rpcErr.Code == maelstrom.Crash {
		n.log.Warn("handler failed", "req", req.String(), "err", err)
	} else if n.debug {
		n.log.Debug("handler error", "req", req.String(), "err", err)
	}
	if rerr := req.Reply(rpcErr); rerr != nil {
		n.log.Error("cannot send error reply", "req", req.String(), "err", rerr)
	}
}

// warnUnknown logs an unanswerable message of an unknown type: a warning
// the first time for each type (bounded), debug afterwards.
func (n *Node) warnUnknown(req *Request) {
	if !n.warned[req.Type] && len(n.warned) < warnTypesMax {
		n.warned[req.Type] = true
		n.log.Warn("no handler for type; dropping (further ones logged at debug)", "req", req.String())
		return
	}
	if n.debug {
		n.log.Debug("no handler for type; dropping", "req", req.String())
	}
}

// handleInit applies the first good init, atomically: the identity is set
// and every OnInit hook succeeds, or the init is refused with an error
// reply and the node is as before, still waiting for an init. A later init
// that repeats the applied one is answered init_ok and changes nothing; one
// that names another identity is refused (22): a process keeps one identity
// (Maelstrom restarts a killed node as a new process, with a fresh init).
func (n *Node) handleInit(req *Request) {
	refuse := func(err error) {
		n.log.Warn("init refused", "req", req.String(), "err", err)
		n.fail(req, err)
	}
	id, ids, err := parseInit(req)
	switch {
	case err != nil:
		refuse(err)
		return
	case n.id != "":
		if id != n.id || !slices.Equal(ids, n.nodeIDs) {
			refuse(maelstrom.NewRPCError(maelstrom.PreconditionFailed, fmt.Sprintf(
				"already initialized as %q of %q; a process keeps one identity", n.id, n.nodeIDs)))
			return
		}
		n.replyInit(req, nil)
		return
	}
	if err := n.applyInit(id, ids); err != nil {
		refuse(err)
		return
	}
	n.replyInit(req, nil)
	n.log.Info("initialized", "id", n.id, "nodes", len(n.nodeIDs))
	queued := n.preInit
	n.preInit = nil
	for _, q := range queued {
		n.dispatch(q)
	}
}

// initMark is what the runtime looked like before the OnInit hooks ran.
type initMark struct {
	outBytes  int
	nextMsgID int64
	timerSeq  uint64
}

// applyInit sets the identity and runs the OnInit hooks. If one fails, the
// identity is cleared and everything the hooks started is undone: output
// they sent is never written, their calls fail with ErrNotInitialized and
// their timers are removed (their onStop hooks run), so a later init starts
// from scratch and runs every hook again.
func (n *Node) applyInit(id string, ids []string) error {
	mark := initMark{outBytes: len(n.out), nextMsgID: n.nextMsgID, timerSeq: n.timerSeq}
	n.id, n.nodeIDs = id, slices.Clone(ids)
	for _, x := range n.nodeIDs {
		if x != id {
			n.peers = append(n.peers, x)
		}
	}
	for _, fn := range n.onInit {
		if err := n.runInitHook(fn); err != nil {
			n.undoInit(mark)
			return err
		}
	}
	return nil
}

// undoInit reverts a failed applyInit to mark. Calls need no mark: none can
// exist before init, so every call was made by the hooks.
func (n *Node) undoInit(mark initMark) {
	n.out = n.out[:mark.outBytes]
	n.id, n.nodeIDs, n.peers = "", nil, nil
	n.failCalls(ErrNotInitialized)
	n.nextMsgID = mark.nextMsgID // the hooks' msg_ids were never sent
	var dropped []*timerEntry
	kept := n.timers[:0]
	for _, e := range n.timers {
		if e.seq > mark.timerSeq {
			e.stopped, e.index = true, -1
			dropped = append(dropped, e)
			continue
		}
		e.index = len(kept)
		kept = append(kept, e)
	}
	clear(n.timers[len(kept):])
	n.timers = kept
	heap.Init(&n.timers)
	for _, e := range dropped {
		if e.onStop != nil {
			n.guard("timer stop", e.onStop)
		}
	}
}

func (n *Node) runInitHook(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("panic in init hook", "panic", p, "stack", string(debug.Stack()))
			err = maelstrom.NewRPCError(maelstrom.Crash, fmt.Sprintf("panic in init: %v", p))
		}
	}()
	return fn()
}

func (n *Node) replyInit(req *Request, err error) {
	if err != nil {
		n.fail(req, err)
		return
	}
	if rerr := req.Reply(initOK{Type: "init_ok"}); rerr != nil {
		n.log.Error("cannot answer init", "err", rerr)
	}
}

// ReplyTo answers, on behalf of another node, a request this node never
// received: dest's message with msg_id inReplyTo reached a peer, which
// forwarded it here. Maelstrom clients match a reply by in_reply_to alone,
// whoever sends it, so the node that completes a request can answer it
// directly and save the hop back through the peer. body is as for Send.
func (n *Node) ReplyTo(dest string, inReplyTo int64, body any) error {
	if inReplyTo <= 0 {
		return fmt.Errorf("node: ReplyTo with in_reply_to %d: it must be a positive msg_id", inReplyTo)
	}
	return n.sendTo("ReplyTo", dest, body, inReplyTo)
}
