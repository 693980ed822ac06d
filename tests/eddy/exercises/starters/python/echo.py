node = Node()


def echo(msg, body):
    # TODO: answer with the request's echo value (body["echo"]).
    node.reply(msg, {"type": "echo_ok", "echo": "TODO: the request's echo value"})


node.on("echo", echo)
node.run()
