// Package srtest is a local stand-in for a Confluent Schema Registry that
// speaks its REST API (register a schema under a subject, list subjects
// and versions, read a schema by id or by subject and version), for tests:
// no registry server can run here.
package srtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type schema struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// Reference is a schema that another imports: by the name it imports it
// under (a .proto file, an Avro full name), from a subject's version.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Registry is the stand-in. Register schemas with Register (or the REST
// API); URL is its base URL.
type Registry struct {
	URL      string
	mu       sync.Mutex
	byID     map[int]schema
	subjects map[string][]int // subject -> schema ids by version
	lookups  int
}

// Start runs a registry for the test.
func Start(t testing.TB) *Registry {
	r, stop := New()
	t.Cleanup(stop)
	return r
}

// New runs a registry on a loopback port until stop is called (for
// `sieve bench`, which has no test to own it).
func New() (r *Registry, stop func()) {
	r = &Registry{byID: map[int]schema{}, subjects: map[string][]int{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = srv.URL
	return r, srv.Close
}

// Register adds a schema (typ AVRO, JSON or PROTOBUF), with the schemas it
// references, under subject as its next version and returns its id.
func (r *Registry) Register(subject, typ, text string, refs ...Reference) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := len(r.byID) + 1
	if typ == "AVRO" {
		typ = "" // the registry leaves Avro's type out
	}
	r.byID[id] = schema{Schema: text, SchemaType: typ, References: refs}
	r.subjects[subject] = append(r.subjects[subject], id)
	return id
}

// Lookups counts the schema-by-id reads served.
func (r *Registry) Lookups() int { r.mu.Lock(); defer r.mu.Unlock(); return r.lookups }

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": msg})
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case req.Method == http.MethodGet && len(parts) == 3 && parts[0] == "schemas" && parts[1] == "ids":
		id, _ := strconv.Atoi(parts[2])
		s, ok := r.byID[id]
		r.lookups++
		if !ok {
			writeErr(w, http.StatusNotFound, 40403, "Schema "+parts[2]+" not found")
			return
		}
		json.NewEncoder(w).Encode(s)
	case req.Method == http.MethodGet && len(parts) == 1 && parts[0] == "subjects":
		names := []string{}
		for n := range r.subjects {
			names = append(names, n)
		}
		json.NewEncoder(w).Encode(names)
	case req.Method == http.MethodGet && len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions":
		ids, ok := r.subjects[parts[1]]
		if !ok {
			writeErr(w, http.StatusNotFound, 40401, "Subject not found")
			return
		}
		vs := make([]int, len(ids))
		for i := range ids {
			vs[i] = i + 1
		}
		json.NewEncoder(w).Encode(vs)
	case req.Method == http.MethodGet && len(parts) == 4 && parts[0] == "subjects" && parts[2] == "versions":
		ids, ok := r.subjects[parts[1]]
		v, err := strconv.Atoi(parts[3])
		if parts[3] == "latest" || parts[3] == "-1" {
			v, err = len(ids), nil
		}
		if !ok || err != nil || v < 1 || v > len(ids) {
			writeErr(w, http.StatusNotFound, 40402, "Version not found")
			return
		}
		s := r.byID[ids[v-1]]
		json.NewEncoder(w).Encode(map[string]any{"subject": parts[1], "version": v, "id": ids[v-1], "schema": s.Schema, "schemaType": s.SchemaType, "references": s.References})
	case req.Method == http.MethodPost && len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions":
		var s schema
		if err := json.NewDecoder(req.Body).Decode(&s); err != nil {
			writeErr(w, http.StatusUnprocessableEntity, 42201, "Invalid schema")
			return
		}
		id := len(r.byID) + 1
		r.byID[id] = s
		r.subjects[parts[1]] = append(r.subjects[parts[1]], id)
		json.NewEncoder(w).Encode(map[string]int{"id": id})
	default:
		writeErr(w, http.StatusNotFound, 404, "not found")
	}
}
