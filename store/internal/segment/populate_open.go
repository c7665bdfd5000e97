package segment

// PopulateOpen is Populate for a caller that may run while the file is being closed (a
// background prefault): it holds the file's lock, so the mapping cannot be unmapped
// under the madvise, and does nothing once the file is closed. ok is false then, or
// when the kernel refused.
func (f *File) PopulateOpen(from, to int64) (ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	return f.Populate(from, to)
}
