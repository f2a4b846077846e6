package names

import (
	"database/sql"
	"os/signal"
	"syscall"
	"time"
)

// SetClock makes s tell the time by now.
func SetClock(s *DB, now func() time.Time) { s.now = now }

// Exec runs one statement on the database at path, as the sqlite3 shell
// would.
func Exec(path, stmt string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

// IgnoreXFSZ: a process past RLIMIT_FSIZE gets SIGXFSZ, which kills it,
// unless ignored; then the write fails with EFBIG, as on a full disk.
func IgnoreXFSZ() { signal.Ignore(syscall.SIGXFSZ) }
