package registry

import "testing"

func TestRegistry(t *testing.T) {
	r := New[int]("widget")
	r.Register("b", 2)
	r.Register("a", 1)
	r.Register("c", 3)
	if v, ok := r.Lookup("b"); !ok || v != 2 {
		t.Fatalf("Lookup(b) = %v, %v", v, ok)
	}
	if _, ok := r.Lookup("z"); ok {
		t.Fatal("Lookup(z) found something")
	}
	if got := r.All(); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("All() = %v, want name order", got)
	}
	if got := r.Choices(); got != "a, b or c" {
		t.Fatalf("Choices() = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second registration of a name did not panic")
		}
	}()
	r.Register("a", 9)
}

func TestOr(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a or b"}, {[]string{"a", "b", "c"}, "a, b or c"}} {
		if got := Or(tt.in); got != tt.want {
			t.Errorf("Or(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
