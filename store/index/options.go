package index

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/pebblelog"
)

// pebbleOptions returns the options of the index's database, chosen for a write-mostly
// store of small fixed-size entries that is read by prefix seeks (queries are rare):
//
//   - no write-ahead log: the applied offset travels in the same batch as its entries,
//     so a crash only sets the index back to its last flush, and the store indexes the
//     log again from there (docs/architecture.md §5). Every byte would otherwise be
//     written twice, once to the log and once to a table.
//   - a 16 MiB memtable: fewer, larger flushes; the skiplist stays shallow enough that
//     inserts stay cheap.
//   - L0 may hold many tables before a compaction: entries are keyed by bucket, which
//     follows the CommitLog, so successive flushes rarely overlap and compacting them
//     early would only rewrite them.
//   - 32 KiB blocks, no compression (hashes do not compress), no bloom filters (queries
//     are prefix seeks, which filters cannot answer).
func pebbleOptions(log zerolog.Logger) *pebble.Options {
	opts := &pebble.Options{
		Logger:                    pebblelog.New(log, "index"),
		DisableWAL:                true,
		MemTableSize:              16 << 20,
		L0CompactionThreshold:     32,
		L0CompactionFileThreshold: 500,
		L0StopWritesThreshold:     128,
	}
	for i := range opts.Levels {
		opts.Levels[i].BlockSize = 32 << 10
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	return opts
}
