// Package pagecache drops a directory's files from the kernel's page cache, so that a
// test can measure reads from cold pages without dropping the whole machine's cache
// (/proc/sys/vm/drop_caches would disturb every other process).
package pagecache

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Evict writes back every regular file under dir (fdatasync) and advises the kernel
// to drop its pages (posix_fadvise POSIX_FADV_DONTNEED). Pages mapped by a process
// stay cached.
func Evict(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return err
		}
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	})
}
