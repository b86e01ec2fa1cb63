//go:build !linux

package poller

// A Poller is not available on this platform.
type Poller struct{}

// New returns ErrUnsupported: only Linux has a poller so far.
func New(batch int) (*Poller, error) { return nil, ErrUnsupported }

// Add returns ErrUnsupported.
func (*Poller) Add(fd int, interest uint32) error { return ErrUnsupported }

// Modify returns ErrUnsupported.
func (*Poller) Modify(fd int, interest uint32) error { return ErrUnsupported }

// Remove returns ErrUnsupported.
func (*Poller) Remove(fd int) error { return ErrUnsupported }

// Wait returns ErrUnsupported.
func (*Poller) Wait(timeoutMs int, f func(Event)) (int, bool, error) { return 0, false, ErrUnsupported }

// Wake returns ErrUnsupported.
func (*Poller) Wake() error { return ErrUnsupported }

// Close returns nil.
func (*Poller) Close() error { return nil }
