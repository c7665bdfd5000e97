package meta

// DeleteGroup forgets every committed offset of group, pending ones included, with
// fsync: DELETE_SUBSCRIPTIONGROUP with removeOffset (ConsumerOffsetManager.removeOffset).
// It returns how many offsets it dropped.
func (o *Offsets) DeleteGroup(group string) (int, error) {
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	var writes []metaWrite
	o.mu.Lock()
	for id := range o.offsets {
		if id.Group == group {
			delete(o.offsets, id)
			delete(o.dirty, id)
			writes = append(writes, metaWrite{key: OffsetKey(id.Topic, id.Group, id.QueueID)})
		}
	}
	o.mu.Unlock()
	if len(writes) == 0 {
		return 0, nil
	}
	return len(writes), o.meta.apply(writes, true)
}
