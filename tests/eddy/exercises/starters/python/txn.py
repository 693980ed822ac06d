node = Node()
regs = {}   # key -> value (w)
lists = {}  # key -> list (append)


def apply(ops):
    """Run a transaction whole; return it with its reads filled in."""
    out = []
    for f, k, v in ops:
        if f == "r":
            v = lists[k] if k in lists else regs.get(k)
        elif f == "w":
            regs[k] = v
        elif f == "append":
            lists.setdefault(k, []).append(v)
        else:
            raise RPCError(RPCError.MALFORMED_REQUEST, "unknown micro-op %r" % f)
        out.append([f, k, v])
    return out


def txn(msg, body):
    # TODO: the other nodes never learn of this transaction. Replicate it:
    # for total availability, send its writes to the peers after it
    # commits; for strict serializability, order every transaction through
    # one replicated log before applying it.
    node.reply(msg, {"type": "txn_ok", "txn": apply(body["txn"])})


node.on("txn", txn)
node.run()
