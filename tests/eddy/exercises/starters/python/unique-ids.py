node = Node()
counter = 0


def generate(msg, body):
    global counter
    counter += 1
    # TODO: this id is unique on this node only; every node counts 1, 2,
    # 3... Make it unique across nodes (and restarts).
    node.reply(msg, {"type": "generate_ok", "id": str(counter)})


node.on("generate", generate)
node.run()
