package namesrv

import "github.com/rocketgo/rocketgo/proto/body"

// wipeWritePerm clears PermWrite in the queue data of every topic the broker group
// name serves (RouteInfoManager.operateWritePermOfBroker, WIPE_WRITE_PERM_OF_BROKER):
// producers that read the route then stop choosing the group's queues, while consumers
// keep reading them. It returns how many topics had queue data of the group.
//
// The change lives in the route table only. As in Apache, the broker's periodic
// registration does not undo it: queue data is rebuilt from a registration only when
// the master's DataVersion changed or it registers for the first time (register). A
// topic created or changed on the broker, or the broker expiring and coming back,
// rebuilds the queue data with the broker's own permissions and so gives write back.
func (t *routeTable) wipeWritePerm(name string) int {
	return t.setWritePerm(name, func(perm int32) int32 { return perm &^ body.PermWrite })
}

// addWritePerm sets the permission of every topic's queue data of the broker group to
// PermRead|PermWrite (ADD_WRITE_PERM_OF_BROKER). Like Apache it sets the value rather
// than adding the bit, so a read-only topic of the group becomes writable too and
// PermInherit is cleared. It returns how many topics had queue data of the group.
func (t *routeTable) addWritePerm(name string) int {
	return t.setWritePerm(name, func(int32) int32 { return body.PermRead | body.PermWrite })
}

func (t *routeTable) setWritePerm(name string, perm func(int32) int32) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, qds := range t.mu.topics {
		qd, ok := qds[name]
		if !ok {
			continue
		}
		qd.Perm = perm(qd.Perm)
		qds[name] = qd
		n++
	}
	return n
}
