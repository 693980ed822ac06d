node = Node()
committed = {}  # key -> the highest committed offset, on this node only


def append(key, msg):
    """Store msg at the end of key's log and return its offset."""
    # TODO: keep msg in key's log and give it an offset above every offset
    # the key has (0, 1, 2, ... is simplest; never one offset twice).
    raise RPCError(RPCError.NOT_SUPPORTED, "send: the log is not written yet")


def messages_from(key, start):
    """key's messages at offset start and after, as [offset, msg] pairs in
    increasing offsets (a bounded number is fine: the client polls again
    from past the last one it got)."""
    # TODO: return the stored messages of key from offset start on, in
    # increasing offsets, skipping none.
    raise RPCError(RPCError.NOT_SUPPORTED, "poll: the log is not written yet")


def send(msg, body):
    offset = append(body["key"], body["msg"])
    node.reply(msg, {"type": "send_ok", "offset": offset})


def poll(msg, body):
    out = {}
    for key, start in body["offsets"].items():
        msgs = messages_from(key, start)
        if msgs:
            out[key] = msgs
    node.reply(msg, {"type": "poll_ok", "msgs": out})


# TODO (several nodes): a client may commit on one node and list the
# committed offsets on another; these are this node's only.
def commit_offsets(msg, body):
    for key, offset in body["offsets"].items():
        if offset > committed.get(key, -1):
            committed[key] = offset
    node.reply(msg, {"type": "commit_offsets_ok"})


def list_committed_offsets(msg, body):
    out = {k: committed[k] for k in body["keys"] if k in committed}
    node.reply(msg, {"type": "list_committed_offsets_ok", "offsets": out})


node.on("send", send)
node.on("poll", poll)
node.on("commit_offsets", commit_offsets)
node.on("list_committed_offsets", list_committed_offsets)
node.run()
