package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sieve-stream/sieve"

type pkg struct {
	ImportPath string
	Deps       []string
}

// deps lists, for every package of the module, the module's packages it
// imports directly or not (tests excluded: the rules are about what runs).
func deps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Deps", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, d := range p.Deps {
			if rest, ok := strings.CutPrefix(d, module+"/"); ok {
				m[name] = append(m[name], rest)
			}
		}
		if _, ok := m[name]; !ok {
			m[name] = nil
		}
	}
	return m
}

func TestImportRules(t *testing.T) {
	all := deps(t)
	allowedOnly := func(t *testing.T, pkg string, ok func(dep string) bool) {
		for _, d := range all[pkg] {
			if !ok(d) {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
	internal := func(d string) bool { return strings.HasPrefix(d, "internal/") }
	tests := []struct {
		rule string
		run  func(t *testing.T)
	}{
		{"the contract imports no Sieve package but internal/", func(t *testing.T) { allowedOnly(t, "contract", internal) }},
		{"pipeline imports only the contract and internal/", func(t *testing.T) {
			allowedOnly(t, "pipeline", func(d string) bool { return d == "contract" || internal(d) })
		}},
		{"connectors/kafka imports neither proxy nor guardrails", func(t *testing.T) {
			allowedOnly(t, "connectors/kafka", func(d string) bool { return d != "proxy" && d != "guardrails" })
		}},
		{"classifiers does not import policy", func(t *testing.T) {
			allowedOnly(t, "classifiers", func(d string) bool { return d != "policy" })
		}},
		{"nothing but the model builder imports the training recipes", func(t *testing.T) {
			for p, ds := range all {
				if p == "models/build" {
					continue
				}
				for _, d := range ds {
					if d == "models/recipes" {
						t.Errorf("%s imports models/recipes", p)
					}
				}
			}
		}},
		{"only the CLI and the tools (bench, models/build, internal/docgen) import the app assembly", func(t *testing.T) {
			for p, ds := range all {
				for _, d := range ds {
					if d == "service" && !strings.HasPrefix(p, "cmd/") && p != "bench" && p != "models/build" && !strings.HasPrefix(p, "internal/docgen") {
						t.Errorf("%s imports service", p)
					}
				}
			}
		}},
	}
	if len(all["pipeline"]) == 0 && len(all["contract"]) == 0 && len(all["cmd/sieve"]) == 0 {
		t.Fatal("go list found no packages")
	}
	for _, tt := range tests {
		t.Run(tt.rule, tt.run)
	}
}
