package ha

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// BenchmarkReplication measures replication over loopback between two stores in one
// process: each iteration appends a batch of 64 records of 1 KiB to the master, and the
// benchmark ends when the slave's log holds all of them, so the figure is the
// replication throughput (records are appended faster than they replicate).
func BenchmarkReplication(b *testing.B) {
	dir := b.TempDir()
	open := func(name string) *store.Store {
		o := store.DefaultOptions()
		o.Dir = filepath.Join(dir, name)
		o.CommitLogSegmentBytes = 64 << 20
		o.ConsumeQueueUnits = 1 << 16
		o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
		o.Logger = zerolog.Nop()
		s, err := store.Open(o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	master, slave := open("m"), open("s")
	id, _, err := master.LogID(true)
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(master, ServerOptions{Addr: "127.0.0.1:0", BrokerName: "bench", LogID: id, SegmentBytes: master.SegmentBytes(),
		BatchBytes: 256 << 10, Heartbeat: time.Second, Housekeeping: 20 * time.Second, SlaveTimeout: 3 * time.Second,
		FallBehindMax: 1 << 40, Logger: zerolog.Nop()})
	if err := srv.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	cl := NewClient(slave, ClientOptions{BrokerName: "bench", BrokerID: 1, Heartbeat: time.Second, Housekeeping: 20 * time.Second,
		DialTimeout: time.Second, RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, DataLimit: 8 << 20, Logger: zerolog.Nop()})
	cl.SetMasterAddr(srv.Addr().String())
	cl.Start()
	b.Cleanup(func() { cl.Close() })

	var batch []byte
	for i := 0; i < 64; i++ {
		rec, err := message.EncodeRecord(nil, &message.Ext{Topic: "Bench", BornHost: bornHost, StoreHost: storeHost, Body: bytes.Repeat([]byte{'x'}, 1024)})
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, rec...)
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := master.PutBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	end := master.MaxPhysicalOffset()
	for slave.MaxPhysicalOffset() < end {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
}
