package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Uids that eddy gives nodes: a range no distribution allocates to users or
// to subordinate id maps (those start at 100000 and go by 65536).
const (
	firstNodeUID = 3_500_000
	nodeUIDRange = 100_000
)

// UIDLease is a set of uids reserved for one run's nodes, one per node, so
// that no node can read or write another's files. A uid is reserved by an
// exclusive lock on a file named after it, which the kernel releases when
// eddy exits however it exits, so a killed eddy leaves nothing reserved.
type UIDLease struct {
	UIDs  []uint32
	locks []*os.File
}

// LeaseUIDs reserves n uids. It needs root (the lock directory is root's).
func LeaseUIDs(n int) (*UIDLease, error) {
	dir := filepath.Join(os.TempDir(), "eddy-uids")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &UIDLease{}
	for uid := firstNodeUID; uid < firstNodeUID+nodeUIDRange && len(l.UIDs) < n; uid++ {
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(uid)), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			l.Release()
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			l.Release()
			return nil, err
		}
		l.UIDs = append(l.UIDs, uint32(uid))
		l.locks = append(l.locks, f)
	}
	if len(l.UIDs) < n {
		l.Release()
		return nil, fmt.Errorf("no %d free uids in %d..%d", n, firstNodeUID, firstNodeUID+nodeUIDRange-1)
	}
	return l, nil
}

// Release frees the uids (the processes that ran as them must be dead).
func (l *UIDLease) Release() {
	for _, f := range l.locks {
		_ = f.Close()
	}
	l.UIDs, l.locks = nil, nil
}
