package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitIsStableAndProportioned(t *testing.T) {
	counts := map[string]int{}
	for i := range 20000 {
		counts[PartOf("row-"+string(rune('a'+i%26))+strings.Repeat("x", i%7)+string(rune(i)))]++
	}
	if counts[Train] < 15000 || counts[Dev] < 1500 || counts[Test] < 1500 {
		t.Fatalf("split proportions %v", counts)
	}
	if PartOf("sms_spam-2") != PartOf("sms_spam-2") {
		t.Fatal("split is not deterministic")
	}
}

func TestLoadParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.jsonl")
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, `{"id":"r%d","text":"t","labels":[]}`+"\n", i)
	}
	b.WriteString("\n")
	os.WriteFile(path, []byte(b.String()), 0o644)
	all, err := Load(path)
	if err != nil || len(all) != 200 {
		t.Fatalf("%d rows, %v", len(all), err)
	}
	n := 0
	for _, p := range []string{Train, Dev, Test} {
		ex, err := Load(path + "#" + p)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			if PartOf(e.ID) != p {
				t.Fatalf("%s in part %s", e.ID, p)
			}
		}
		n += len(ex)
	}
	if n != 200 {
		t.Fatalf("parts hold %d rows, want 200", n)
	}
	if _, err := Load(path + "#holdout"); err == nil {
		t.Fatal("unknown part accepted")
	}
	os.WriteFile(path, []byte("{\"id\":1}\n"), 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path+":1") {
		t.Fatalf("error %v does not name file and line", err)
	}
}
