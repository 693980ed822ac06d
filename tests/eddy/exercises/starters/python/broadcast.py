node = Node()
seen = set()
order = []
neighbors = []


def add(value):
    """Record a value; True when it was new."""
    if value in seen:
        return False
    seen.add(value)
    order.append(value)
    return True


def broadcast(msg, body):
    add(body["message"])
    # TODO: pass the value on to the other nodes, so that every node reads
    # it; keep sending what a peer has not acknowledged (a partition drops
    # messages). Peer messages need a type of your own and a handler.
    node.reply(msg, {"type": "broadcast_ok"})


def read(msg, body):
    node.reply(msg, {"type": "read_ok", "messages": list(order)})


def topology(msg, body):
    global neighbors
    neighbors = body["topology"].get(node.node_id, [])  # a suggestion: node.peers() lists every other node
    node.reply(msg, {"type": "topology_ok"})


node.on("broadcast", broadcast)
node.on("read", read)
node.on("topology", topology)
node.run()
