package room_test

import (
	"errors"
	"strings"
	"testing"

	"chatroom/room"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"Alice", true},
		{"a", true},
		{"0cool", true},
		{"j.r-r_t", true},
		{strings.Repeat("x", 24), true},
		{strings.Repeat("x", 25), false},
		{"", false},
		{"_alice", false},
		{".alice", false},
		{"-alice", false},
		{"al ice", false},
		{"alicé", false},
		{"al\x1b[2Jice", false},
	}
	for _, tt := range tests {
		err := room.ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, room.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want it to wrap ErrInvalidName", tt.name, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x1b\r\n") {
			t.Errorf("ValidateName(%q) error holds control characters: %q", tt.name, err)
		}
	}
}
