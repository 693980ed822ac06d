package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browser finds a Chromium: $CHROMIUM, then the usual names on PATH.
func browser() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// chromium runs a headless browser on page with extra flags and returns
// its stdout and stderr. Each run gets its own profile directory.
func chromium(t *testing.T, bin, page string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=5000"}
	args = append(args, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	require.NoError(t, err, "chromium failed: %s", lastLines(errb.String(), 20))
	return out.String(), errb.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// skipVisibly skips t and says so where a plain `go test ./...` shows it.
// t.Skip's reason is printed only with -v, and the go command keeps a
// passing package's stderr to itself when given packages, so the notice
// goes to stderr when that is a terminal (go test in the package's
// directory) and otherwise to the controlling terminal, if there is one.
func skipVisibly(t *testing.T, reason string) {
	t.Helper()
	msg := "NOTE: " + t.Name() + " skipped: " + reason + "\n"
	if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		_, _ = os.Stderr.WriteString(msg)
	} else if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		_, _ = tty.WriteString(msg)
		_ = tty.Close()
	} else {
		_, _ = os.Stderr.WriteString(msg)
	}
	t.Skip(reason)
}

var renderedAttr = regexp.MustCompile(`data-rendered="([^"]*)"`)

// TestReportInBrowser loads the report of a passing and of a failing run
// (25 nodes, partitions) in headless Chromium, checks from the DOM that
// every plot and the diagram drew non-empty SVG, that no script error or
// console error happened, and saves a screenshot.
func TestReportInBrowser(t *testing.T) {
	bin := browser()
	if bin == "" {
		skipVisibly(t, "no Chromium found: install Debian's chromium package or set $CHROMIUM to a Chromium binary to run it")
	}
	for _, tc := range []struct {
		name  string
		valid bool
	}{{name: "passing", valid: true}, {name: "failing", valid: false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, Write(dir, synth(11, 25, 5000, tc.valid)))
			page := filepath.Join(dir, "report.html")
			dom, logs := chromium(t, bin, page, "--dump-dom")
			m := renderedAttr.FindStringSubmatch(dom)
			require.NotNil(t, m, "the page's check script did not run; stderr:\n%s", lastLines(logs, 20))
			parts := strings.Fields(m[1])
			seen := map[string]bool{}
			for _, p := range parts {
				f := strings.Split(p, ":")
				require.Len(t, f, 3, p)
				wh := strings.Split(f[1], "x")
				w, _ := strconv.Atoi(wh[0])
				h, _ := strconv.Atoi(wh[1])
				n, _ := strconv.Atoi(f[2])
				require.Greater(t, w, 0, "%s has an empty bounding box", f[0])
				require.Greater(t, h, 0, "%s has an empty bounding box", f[0])
				require.Greater(t, n, 10, "%s has almost no shapes", f[0])
				seen[f[0]] = true
			}
			for _, id := range []string{"latency-raw", "latency-quantiles", "rate", "messages"} {
				require.True(t, seen[id], "%s not rendered: %s", id, m[1])
			}
			require.Contains(t, dom, `data-errors=""`, "script errors in the page")
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "rror") || strings.Contains(line, "Uncaught")) {
					t.Errorf("console error: %s", line)
				}
			}
			if !tc.valid {
				require.Contains(t, dom, "workload: valid? false")
			}
			shot := filepath.Join(t.TempDir(), "report.png")
			chromium(t, bin, page, "--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars")
			st, err := os.Stat(shot)
			require.NoError(t, err)
			require.Greater(t, st.Size(), int64(10000), "screenshot looks blank")
			if out := os.Getenv("EDDY_REPORT_SCREENSHOTS"); out != "" {
				b, _ := os.ReadFile(shot)
				_ = os.WriteFile(filepath.Join(out, tc.name+".png"), b, 0o644)
			}
			t.Logf("screenshot: %s (%d bytes)", shot, st.Size())
		})
	}
}
