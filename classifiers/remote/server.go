package remote

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
)

// maxBody bounds a request: a micro-batch of texts, not a file upload.
const maxBody = 32 << 20

// Handler serves classifiers over the v2 protocol, each under its name.
type Handler struct {
	models map[string]classifiers.Classifier
	mux    *http.ServeMux
}

// NewHandler serves cs.
func NewHandler(cs ...classifiers.Classifier) *Handler {
	h := &Handler{models: map[string]classifiers.Classifier{}, mux: http.NewServeMux()}
	for _, c := range cs {
		h.models[c.Describe().Name] = c
	}
	h.mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h.mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h.mux.HandleFunc("GET /v2", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"name": "sieve", "version": "2", "extensions": []string{}})
	})
	h.mux.HandleFunc("GET /v2/models/{model}", h.metadata)
	h.mux.HandleFunc("GET /v2/models/{model}/ready", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.models[r.PathValue("model")]; !ok {
			writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "unknown model"})
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h.mux.HandleFunc("POST /v2/models/{model}/infer", h.infer)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	c, ok := h.models[r.PathValue("model")]
	if !ok {
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: fmt.Sprintf("unknown model %q", r.PathValue("model"))})
		return
	}
	d := c.Describe()
	th := make([]string, len(d.Labels))
	for i, l := range d.Labels {
		th[i] = fmt.Sprint(d.Thresholds[l])
	}
	writeJSON(w, http.StatusOK, ModelMetadata{
		Name: d.Name, Versions: []string{d.Version}, Platform: "sieve_" + string(d.Kind),
		Inputs:     []TensorMeta{{Name: InputText, Datatype: "BYTES", Shape: []int64{-1}}},
		Outputs:    []TensorMeta{{Name: OutputScores, Datatype: "FP32", Shape: []int64{-1, int64(len(d.Labels))}}},
		Parameters: map[string]string{"labels": strings.Join(d.Labels, ","), "thresholds": strings.Join(th, ","), "kind": string(d.Kind)},
	})
}

func (h *Handler) infer(w http.ResponseWriter, r *http.Request) {
	c, ok := h.models[r.PathValue("model")]
	if !ok {
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: fmt.Sprintf("unknown model %q", r.PathValue("model"))})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, ErrorResponse{Error: "request body too large"})
		return
	}
	var req InferRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "invalid JSON: " + err.Error()})
		return
	}
	texts, err := textInput(req)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error()})
		return
	}
	scores, err := c.Classify(r.Context(), texts)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{Error: err.Error()})
		return
	}
	d := c.Describe()
	flat := make([]float32, 0, len(texts)*len(d.Labels))
	for _, row := range scores {
		flat = append(flat, row...)
	}
	writeJSON(w, http.StatusOK, InferResponse{ModelName: d.Name, ModelVersion: d.Version, ID: req.ID,
		Outputs: []Tensor{{Name: OutputScores, Datatype: "FP32", Shape: []int64{int64(len(texts)), int64(len(d.Labels))}, Data: flat}}})
}

func textInput(req InferRequest) ([]string, error) {
	for _, in := range req.Inputs {
		if in.Name != InputText {
			continue
		}
		if in.Datatype != "BYTES" {
			return nil, fmt.Errorf("input %q: datatype %s, want BYTES", in.Name, in.Datatype)
		}
		raw, ok := in.Data.([]any)
		if !ok {
			return nil, fmt.Errorf("input %q: data is not an array", in.Name)
		}
		if len(in.Shape) != 1 || in.Shape[0] != int64(len(raw)) {
			return nil, fmt.Errorf("input %q: shape %v does not match %d elements", in.Name, in.Shape, len(raw))
		}
		texts := make([]string, len(raw))
		for i, v := range raw {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("input %q: element %d is not a string", in.Name, i)
			}
			texts[i] = s
		}
		return texts, nil
	}
	return nil, fmt.Errorf("no input named %q", InputText)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
