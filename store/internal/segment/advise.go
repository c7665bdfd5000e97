package segment

import "golang.org/x/sys/unix"

// WillNeed asks the kernel to start reading [from, to) of the file (relative to its
// start) into the page cache without waiting (posix_fadvise POSIX_FADV_WILLNEED), so
// that a reader that gets there later finds the pages cached instead of faulting on
// each readahead window in turn. It goes through the file descriptor, not the mapping:
// a file closed meanwhile only makes the call fail, which is ignored, as is any error
// (the advice changes no contents).
func (f *File) WillNeed(from, to int64) {
	from = max(from, 0) &^ (PageSize - 1)
	to = min(to, f.size)
	if from < to {
		_ = unix.Fadvise(int(f.f.Fd()), from, to-from, unix.FADV_WILLNEED)
	}
}
