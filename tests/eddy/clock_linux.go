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

// prSetTimerSlack is prctl's PR_SET_TIMERSLACK (linux/prctl.h).
const prSetTimerSlack = 29

// waitUntil waits for t, waking within microseconds of it on an idle host;
// false if ctx ended first. Up to fineWindow before t it waits on a Go
// timer (and ctx); the rest is one nanosleep, which ctx does not cut short
// (it lasts at most fineWindow).
func waitUntil(ctx context.Context, t time.Time) bool {
	if !sleepUntil(ctx, t.Add(-fineWindow)) {
		return false
	}
	if d := time.Until(t); d > 0 {
		fineSleep(d)
	}
	return ctx.Err() == nil
}

// fineSleep sleeps d in one nanosleep on a thread whose timer slack is 1 ns:
// the kernel's default slack of 50 µs would otherwise be added to every
// wake-up. The goroutine holds its thread only for the sleep, and never
// exits while holding it (see process.sysProcAttr on Pdeathsig).
func fineSleep(d time.Duration) {
	// The sleep keeps this thread's share of the Go scheduler while it
	// lasts; goroutines it made ready (the op just issued) run first here
	// rather than wait for another thread to wake and take them over.
	runtime.Gosched()
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
