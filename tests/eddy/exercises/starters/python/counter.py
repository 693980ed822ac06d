node = Node()
local = 0  # the sum of the deltas added at this node


def add(msg, body):
    global local
    local += body["delta"]
    node.reply(msg, {"type": "add_ok"})


def read(msg, body):
    # TODO: the value is the sum over every node, not this node's part.
    node.reply(msg, {"type": "read_ok", "value": local})


def gossip():
    # TODO: tell the peers (node.peers()) this node's part, and keep theirs
    # (a handler for a message type of your own), so that every node
    # converges once the network heals.
    pass


node.on("add", add)
node.on("read", read)
node.every(0.5, gossip)
node.run()
