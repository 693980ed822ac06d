node = Node()
elems = {}  # the element's JSON encoding -> the element


def add(msg, body):
    e = body["element"]
    elems[json.dumps(e, sort_keys=True)] = e
    node.reply(msg, {"type": "add_ok"})


def read(msg, body):
    node.reply(msg, {"type": "read_ok", "value": list(elems.values())})


def gossip():
    # TODO: send this node's set (or what changed) to its peers
    # (node.peers()), and merge the sets peers send (a handler for a
    # message type of your own) by union.
    pass


node.on("add", add)
node.on("read", read)
node.every(0.5, gossip)
node.run()
