// Command eddy is a Go-native `maelstrom test`: see package eddy.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"maelkit/tests/eddy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := eddy.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
