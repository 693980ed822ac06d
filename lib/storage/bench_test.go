package storage

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks on the real file system (the test's temporary directory).
// They report figures and assert nothing:
//
//	records/s     committed records per second of wall time
//	fsyncs/op     log fsyncs per record
//	bytes/record  bytes the log wrote per record (header and framing included)
//	disk-B/record bytes this process sent to the block device per record
//	              (/proc/self/io write_bytes: page and journal granularity)
//
//	go test -run '^$' -bench . -benchtime 2000x ./lib/storage/

const benchRecordBytes = 100

// ioWriteBytes is /proc/self/io's write_bytes, or -1 if unreadable.
func ioWriteBytes() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

func report(b *testing.B, l *Log, records int, elapsed time.Duration, diskBefore int64) {
	st := l.Stats()
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(st.Syncs-1)/float64(records), "fsyncs/op") // minus the one at open
	b.ReportMetric(float64(st.BytesWritten-headerSize)/float64(records), "bytes/record")
	if after := ioWriteBytes(); diskBefore >= 0 && after >= 0 {
		b.ReportMetric(float64(after-diskBefore)/float64(records), "disk-B/record")
	}
}

// BenchmarkCommit: appenders goroutines each Commit one record at a time;
// group commit lets them share fsyncs.
func BenchmarkCommit(b *testing.B) {
	for _, appenders := range []int{1, 10, 100} {
		b.Run("appenders="+strconv.Itoa(appenders), func(b *testing.B) {
			l, err := OpenLog(OSFS{}, filepath.Join(b.TempDir(), "n1.wal"), testRun)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			rec := bytes.Repeat([]byte("r"), benchRecordBytes)
			var left atomic.Int64
			left.Store(int64(b.N))
			disk := ioWriteBytes()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range appenders {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := l.Commit(rec); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			report(b, l, b.N, elapsed, disk)
		})
	}
}

// BenchmarkAppendBatch is the host's pattern: a batch of records, then one
// Sync.
func BenchmarkAppendBatch(b *testing.B) {
	for _, batch := range []int{10, 100} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			l, err := OpenLog(OSFS{}, filepath.Join(b.TempDir(), "n1.wal"), testRun)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			recs := make([][]byte, batch)
			for i := range recs {
				recs[i] = bytes.Repeat([]byte("r"), benchRecordBytes)
			}
			disk := ioWriteBytes()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := l.Commit(recs...); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			report(b, l, b.N*batch, elapsed, disk)
		})
	}
}

// BenchmarkStablePut: one small value (a term and a vote) replaced durably.
func BenchmarkStablePut(b *testing.B) {
	s, err := OpenStable(OSFS{}, filepath.Join(b.TempDir(), "n1.state"), testRun)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	v := []byte(`{"term":12,"vote":"n3"}`)
	disk := ioWriteBytes()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := s.Put(v); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, s.log, b.N, elapsed, disk)
}

// BenchmarkSnapshot: an atomic snapshot of 64 KiB (write, fsync, rename,
// fsync of the directory) and the compaction that follows.
func BenchmarkSnapshot(b *testing.B) {
	s, err := Open(b.TempDir(), "n1")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	img := bytes.Repeat([]byte("s"), 64<<10)
	rec := bytes.Repeat([]byte("r"), benchRecordBytes)
	b.ResetTimer()
	for range b.N {
		last, err := s.Log.Commit(rec, rec, rec)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.SaveSnapshot(last-1, img); err != nil {
			b.Fatal(err)
		}
	}
}
