// Command eddy is a Go-native `maelstrom test`: see package eddy.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"maelkit/tests/eddy/cmd/eddy/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
