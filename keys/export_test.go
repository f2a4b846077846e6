package keys

import "time"

// SetClock makes s tell the time by now.
func SetClock(s *Store, now func() time.Time) { s.now = now }
