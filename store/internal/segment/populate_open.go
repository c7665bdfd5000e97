package segment

// PopulateOpen is Populate for a caller that may run while the file is being closed (a
// background prefault): it holds the file's lock, so the mapping cannot be unmapped
// under the madvise, and does nothing once the file is closed. refused is true only when
// the kernel refused MADV_POPULATE_WRITE (not for a closed file), so that a caller can
// stop asking.
func (f *File) PopulateOpen(from, to int64) (refused bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	return !f.Populate(from, to)
}
