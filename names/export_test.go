package names

import "time"

// SetClock makes s tell the time by now.
func SetClock(s *Files, now func() time.Time) { s.now = now }
