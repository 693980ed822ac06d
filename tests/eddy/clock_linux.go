package eddy

import (
	"context"
	"runtime"
	"syscall"
	"time"
)

// fineWindow is the part of a wait that waitUntil sleeps with nanosleep.
// Go's timers are only as fine as the runtime's idle wait: a process with
// nothing to run blocks in epoll_wait, whose timeout is in whole
// milliseconds, rounded up, so a timer fires up to about 1 ms late (on
// average 0.5 ms for a gap drawn uniformly below 2 ms). At --rate 1000
// that alone cuts the op rate to about two thirds, since Jepsen's stagger
// schedules each op from the moment the previous one went out.
const fineWindow = 2 * time.Millisecond

// spinWindow is the part of a wait that waitUntil spends polling the clock.
// Even with no timer slack and at real-time priority, nanosleep wakes tens
// of microseconds late on a virtual machine (about 40 µs on average on the
// 2-core host of this project's figures: BenchmarkWake under chrt), which
// at --rate 1000 would still cost 4 % of the ops. Polling the last 50 µs
// costs at most 5 % of one core at that rate, about 1 % in practice: the
// nanosleep mostly wakes well inside the window.
const spinWindow = 50 * time.Microsecond

// prSetTimerSlack is prctl's PR_SET_TIMERSLACK (linux/prctl.h).
const prSetTimerSlack = 29

// waitUntil waits for t, waking within microseconds of it on an idle host;
// false if ctx ended first. Up to fineWindow before t it waits on a Go
// timer (and ctx); then one nanosleep to spinWindow before t, and it polls
// the clock for the rest. ctx does not cut the last fineWindow short.
func waitUntil(ctx context.Context, t time.Time) bool {
	if !sleepUntil(ctx, t.Add(-fineWindow)) {
		return false
	}
	if d := time.Until(t) - spinWindow; d > 0 {
		fineSleep(d)
	}
	for time.Now().Before(t) {
	}
	return ctx.Err() == nil
}

// fineSleep sleeps d in one nanosleep on a thread whose timer slack is 1 ns:
// the kernel's default slack of 50 µs would otherwise be added to every
// wake-up. The goroutine holds its thread only for the sleep, and never
// exits while holding it (see process.sysProcAttr on Pdeathsig).
func fineSleep(d time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The slack is per thread and harmless to keep: later sleeps of other
	// goroutines on this thread merely wake on time. A failure leaves the
	// default slack, which costs precision only.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
	ts := syscall.NsecToTimespec(int64(d))
	// A signal (the Go runtime preempts with SIGURG) interrupts the sleep
	// and leaves the time remaining in ts.
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
