package node

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// LogEnv names the environment variable that sets the log level of nodes:
// debug, info, warn (the default) or error.
const LogEnv = "MAELKIT_LOG"

// ParseLevel maps a LogEnv value to a level. Unknown or empty values give
// warn, so that a typo never makes a node chatty.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "error":
		return slog.LevelError
	default:
		return slog.LevelWarn
	}
}

// NewLogger returns a text logger writing to w (a node's stderr) at the level
// ParseLevel(level) gives.
func NewLogger(w io.Writer, level string) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: ParseLevel(level)}))
}

// Stdio is the Config every node binary starts from: messages on in and out,
// logs on logs at the level the MAELKIT_LOG environment variable asks for.
// Binaries pass os.Stdin, os.Stdout and os.Stderr; their tests pass pipes.
func Stdio(in io.Reader, out, logs io.Writer) Config {
	return Config{In: in, Out: out, Logger: NewLogger(logs, os.Getenv(LogEnv))}
}
