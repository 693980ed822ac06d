package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maelkit/tests/eddy"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ServeUsage is `eddy serve`'s help.
func ServeUsage() string {
	return `Usage:
  eddy serve [--store DIR] [--addr 127.0.0.1:8080] [--index-only]

Writes DIR/index.html (every run folder with its verdict and a link to its
report.html) and serves DIR over HTTP on a loopback address until interrupted.
--index-only writes the index and exits.

Options:
` + flagHelp(serveCommand(new(string), new(string), new(bool)).flags)
}

// serveCommand is `eddy serve` reading into root, addr and indexOnly.
func serveCommand(root, addr *string, indexOnly *bool) *command {
	return &command{
		prefix: "eddy serve",
		usage:  ServeUsage,
		flags: []flag{
			helpFlag,
			strFlag([]string{"--store"}, "DIR", "the store to index and serve (default store)", root),
			strFlag([]string{"--addr"}, "HOST:PORT", "a loopback address to serve on (default 127.0.0.1:8080)", addr),
			boolFlag([]string{"--index-only"}, "write the index and exit", indexOnly),
		},
		unknown:           unknownName,
		usageAfterUnknown: true,
	}
}

// ServeMain is `eddy serve`: args exclude the word "serve".
func ServeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, addr, indexOnly := "store", "127.0.0.1:8080", false
	c := serveCommand(&root, &addr, &indexOnly)
	if help, err := c.parse(args); help {
		fmt.Fprint(stdout, ServeUsage())
		return 0
	} else if err != nil {
		return c.refuse(stderr, err)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "eddy serve: %s is not a directory\n", root)
		return eddy.ExitUsage
	}
	if err := eddy.WriteIndex(root); err != nil {
		fmt.Fprintf(stderr, "eddy serve: %v\n", err)
		return eddy.ExitCrash
	}
	fmt.Fprintf(stdout, "index: %s\n", filepath.Join(root, "index.html"))
	if indexOnly {
		return 0
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		fmt.Fprintf(stderr, "eddy serve: %s is not a loopback address; eddy serves runs only to this machine\n", addr)
		return eddy.ExitUsage
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "eddy serve: %v\n", err)
		return eddy.ExitCrash
	}
	files := http.FileServer(http.Dir(root))
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			_ = eddy.WriteIndex(root) // new runs appear on reload
			http.ServeFile(w, r, filepath.Join(root, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})}
	fmt.Fprintf(stdout, "serving %s on http://%s/\n", root, ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "eddy serve: %v\n", err)
		return eddy.ExitCrash
	}
	return 0
}
