package edit

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"paypal", "paypa1", 1},
		{"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := Distance([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance([]rune(tt.a), []rune(tt.b)); got != tt.want {
			t.Errorf("Distance over runes (%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := Distance([]rune("café"), []rune("cafe")); got != 1 {
		t.Errorf("runes: %d, want 1", got)
	}
}
