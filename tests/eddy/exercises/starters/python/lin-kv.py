node = Node()
# TODO: replicate: order every operation (reads too) through consensus (a
# Raft log or Paxos rounds) on a majority of node.node_ids before applying
# it and answering. Only then is the cluster linearizable. Each node now
# keeps its own map, which is linearizable on one node only.
kv = {}


def key(body):
    return json.dumps(body["key"])


def read(msg, body):
    if key(body) not in kv:
        raise RPCError(RPCError.KEY_DOES_NOT_EXIST, "no such key")
    node.reply(msg, {"type": "read_ok", "value": kv[key(body)]})


def write(msg, body):
    kv[key(body)] = body["value"]
    node.reply(msg, {"type": "write_ok"})


def cas(msg, body):
    k = key(body)
    if k not in kv:
        raise RPCError(RPCError.KEY_DOES_NOT_EXIST, "no such key")
    if kv[k] != body["from"]:
        raise RPCError(RPCError.PRECONDITION_FAILED, "expected %r, had %r" % (body["from"], kv[k]))
    kv[k] = body["to"]
    node.reply(msg, {"type": "cas_ok"})


node.on("read", read)
node.on("write", write)
node.on("cas", cas)
node.run()
