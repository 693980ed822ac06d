package node

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// tickOK reports a timer event to the test client c1 (timers have no
// request to answer, so they Send).
type tickOK struct {
	Type string `json:"type"`
	Name string `json:"name"`
	AtMs int64  `json:"at_ms"`
}

func TestTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var start time.Time
		var every, nested *Timer
		h := startNode(t, Config{}, func(n *Node) {
			report := func(name string) {
				_ = n.Send("c1", tickOK{Type: "tick", Name: name, AtMs: time.Since(start).Milliseconds()})
			}
			n.OnInit(func() error {
				start = time.Now()
				n.After(300*time.Millisecond, func() { report("after300") })
				cancelled := n.After(200*time.Millisecond, func() { report("cancelled") })
				n.After(100*time.Millisecond, func() {
					report("after100")
					if !cancelled.Stop() || cancelled.Stop() {
						report("stop-result-wrong")
					}
				})
				ticks := 0
				every = n.Every(250*time.Millisecond, func() {
					ticks++
					report(fmt.Sprintf("every%d", ticks))
					if ticks == 3 && !every.Stop() { // stopping itself from inside
						report("self-stop-wrong")
					}
				})
				// After(0) scheduling After(0): each runs on a later turn, so
				// the loop keeps serving input in between (no spin).
				depth := 0
				var again func()
				again = func() {
					if depth++; depth < 3 {
						nested = n.After(0, again)
						return
					}
					report("nested-done")
				}
				n.After(0, again)
				// A panicking timer is logged; the node goes on.
				n.After(50*time.Millisecond, func() { panic("timer boom") })
				return nil
			})
			Handle(n, "echo", echoHandler)
		})
		h.init("n1", "n1")
		tick := func(name string, atMs int64) string {
			return fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"tick","name":%q,"at_ms":%d}}`, name, atMs)
		}
		h.expect(tick("nested-done", 0), tick("after100", 100), tick("every1", 250), tick("after300", 300),
			tick("every2", 500), tick("every3", 750))
		require.False(t, nested.Stop(), "a one-shot timer that ran cannot be stopped")
		time.Sleep(time.Second) // virtual: the stopped ticker stays silent
		h.probe(5)
		require.False(t, every.Stop())
		h.closeClean()
	})
}

// TestTimersStopAtShutdown: timers pending at EOF never fire.
func TestTimersStopAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fired := false
		var tm *Timer
		h := startNode(t, Config{}, func(n *Node) {
			n.OnInit(func() error {
				tm = n.Every(time.Minute, func() { fired = true })
				return nil
			})
		})
		h.init("n1", "n1")
		h.closeClean()
		require.False(t, fired)
		require.False(t, tm.Stop())
	})
}

// TestEveryPanicsOnZero mirrors time.NewTicker.
func TestEveryPanicsOnZero(t *testing.T) {
	n, err := New(Config{})
	require.NoError(t, err)
	require.Panics(t, func() { n.Every(0, func() {}) })
	var nilTimer *Timer
	require.False(t, nilTimer.Stop())
}
