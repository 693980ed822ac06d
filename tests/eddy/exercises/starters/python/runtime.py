# ---------------------------------------------------------------------------
# A small Maelstrom runtime (the part above the line "YOUR NODE" needs no
# change). One thread runs handlers, timers and RPC callbacks, one at a
# time, so node state needs no lock; a second thread only reads stdin.
# ---------------------------------------------------------------------------
import json
import queue
import sys
import threading
import time


class RPCError(Exception):
    """Raise from a handler to answer with a Maelstrom error code."""

    TIMEOUT = 0
    NOT_SUPPORTED = 10
    TEMPORARILY_UNAVAILABLE = 11
    MALFORMED_REQUEST = 12
    CRASH = 13
    KEY_DOES_NOT_EXIST = 20
    PRECONDITION_FAILED = 22
    TXN_CONFLICT = 30

    def __init__(self, code, text=""):
        super().__init__(text)
        self.code = code
        self.text = text


class Node:
    def __init__(self):
        self.node_id = None
        self.node_ids = []
        self.handlers = {}
        self.on_init = []
        self.timers = []  # [due, period, fn]
        self.calls = {}  # msg_id -> (callback, deadline)
        self.next_id = 0
        self.inbox = queue.Queue()
        self.pending = []  # requests that came before init

    def peers(self):
        return [n for n in self.node_ids if n != self.node_id]

    def on(self, typ, fn):
        """Register fn(msg, body) for messages of type typ."""
        self.handlers[typ] = fn

    def every(self, seconds, fn):
        self.timers.append([time.monotonic() + seconds, seconds, fn])

    def log(self, *args):
        print(*args, file=sys.stderr, flush=True)

    def send(self, dest, body):
        line = json.dumps({"src": self.node_id, "dest": dest, "body": body})
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reply(self, msg, body):
        if msg["body"].get("msg_id") is None:
            return
        body = dict(body)
        body["in_reply_to"] = msg["body"]["msg_id"]
        self.send(msg["src"], body)

    def rpc(self, dest, body, callback, timeout=1.0):
        """Send a request; callback(reply_body) runs with the reply or with
        an error body {"type": "error", "code": 0} on timeout."""
        self.next_id += 1
        body = dict(body)
        body["msg_id"] = self.next_id
        self.calls[self.next_id] = (callback, time.monotonic() + timeout)
        self.send(dest, body)

    def _guard(self, what, fn, *args):
        """Run fn; a bug is logged and the node goes on."""
        try:
            fn(*args)
        except Exception as e:
            self.log(what, "error:", repr(e))

    def _handle(self, msg):
        if not isinstance(msg, dict) or not isinstance(msg.get("src"), str):
            return
        body = msg.get("body")
        if not isinstance(body, dict):
            return
        irt = body.get("in_reply_to")
        if irt is not None:
            call = self.calls.pop(irt, None) if isinstance(irt, int) else None
            if call:
                self._guard("callback", call[0], body)
            return
        typ = body.get("type")
        if typ == "init":
            if not isinstance(body.get("node_id"), str) or not isinstance(body.get("node_ids"), list):
                self.reply(msg, {"type": "error", "code": RPCError.MALFORMED_REQUEST, "text": "bad init"})
                return
            self.node_id = body["node_id"]
            self.node_ids = body["node_ids"]
            for fn in self.on_init:
                self._guard("init hook", fn)
            self.reply(msg, {"type": "init_ok"})
            pending, self.pending = self.pending, []
            for m in pending:
                self._handle(m)
            return
        if self.node_id is None:
            self.pending.append(msg)
            return
        fn = self.handlers.get(typ)
        try:
            if fn is None:
                raise RPCError(RPCError.NOT_SUPPORTED, "no handler for %r" % typ)
            fn(msg, body)
        except RPCError as e:
            self.reply(msg, {"type": "error", "code": e.code, "text": e.text})
        except (KeyError, TypeError) as e:  # a field missing or of the wrong type
            self.log("handler error:", repr(e))
            self.reply(msg, {"type": "error", "code": RPCError.MALFORMED_REQUEST, "text": repr(e)})
        except Exception as e:  # a bug answers 13 and the node goes on
            self.log("handler error:", repr(e))
            self.reply(msg, {"type": "error", "code": RPCError.CRASH, "text": repr(e)})

    def _read(self):
        for line in sys.stdin:
            try:
                self.inbox.put(json.loads(line))
            except ValueError:
                self.log("not JSON:", line.strip()[:200])
        self.inbox.put(None)

    def run(self):
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            now = time.monotonic()
            for t in self.timers:
                if self.node_id is not None and t[0] <= now:
                    t[0] = now + t[1]
                    self._guard("timer", t[2])
            for mid, (cb, deadline) in list(self.calls.items()):
                if deadline <= now:
                    del self.calls[mid]
                    self._guard("callback", cb, {"type": "error", "code": RPCError.TIMEOUT, "text": "timed out"})
            wait = min([t[0] for t in self.timers] + [now + 0.1]) - now
            try:
                msg = self.inbox.get(timeout=max(wait, 0.001))
            except queue.Empty:
                continue
            if msg is None:
                return
            self._handle(msg)


# ---------------------------------------------------------------------------
# YOUR NODE
# ---------------------------------------------------------------------------
