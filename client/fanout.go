package client

import (
	"context"
	"errors"
	"sync"
)

// fanOut runs fn for every address at once, each on its own goroutine, waits for all
// of them and returns their failures joined (in the order they finished), nil when
// every call succeeded. Heartbeats and the admin requests that go to many brokers use
// it: one slow broker then costs one round trip, not one per broker before it.
func fanOut(ctx context.Context, addrs []string, fn func(ctx context.Context, addr string) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx, addr); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
