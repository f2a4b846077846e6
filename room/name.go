package room

import (
	"errors"
	"fmt"

	"chatroom/internal/clean"
)

// MaxNameLen is the longest name, in bytes (names are ASCII).
const MaxNameLen = 24

// ErrInvalidName is wrapped by every NameError.
var ErrInvalidName = errors.New("invalid name")

// NameError says why a name cannot be used. Name is already cleaned, so it is
// safe to show.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	if e.Name == "" {
		return "a name is needed: " + e.Reason
	}
	return fmt.Sprintf("%q %s", e.Name, e.Reason)
}

func (e *NameError) Unwrap() error { return ErrInvalidName }

// ValidateName checks a chat name: 1-24 ASCII letters, digits, '_', '-' or
// '.', starting with a letter or digit. Names are case-sensitive.
func ValidateName(name string) error {
	shown := clean.Line(name, 2*MaxNameLen)
	switch {
	case name == "":
		return &NameError{Reason: "use 1-24 letters, digits, _ - or ."}
	case len(name) > MaxNameLen:
		return &NameError{Name: shown, Reason: fmt.Sprintf("is too long (at most %d characters)", MaxNameLen)}
	case !isAlnum(name[0]):
		return &NameError{Name: shown, Reason: "must start with a letter or digit"}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return &NameError{Name: shown, Reason: "may only hold letters, digits, _ - and ."}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
