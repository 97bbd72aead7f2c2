// Package remote speaks the Open Inference Protocol (KServe v2), the REST
// protocol of Triton, KServe and MLServer: a Classifier that sends
// micro-batches to a model server, and a server (sieve serve-model) that
// serves any Sieve classifier, so a GPU node can run the model while CPU
// nodes run the Kafka side.
//
// Texts travel as one BYTES input named "text" of shape [n]; scores come
// back as one FP32 output named "scores" of shape [n, labels]. The labels
// are the model metadata's parameters.labels (comma-separated) or come
// from the client's config.
package remote

// Tensor is a v2 request or response tensor (JSON, row-major data).
type Tensor struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data"`
}

// RequestedOutput names an output the client wants.
type RequestedOutput struct {
	Name string `json:"name"`
}

// InferRequest is the body of POST /v2/models/{model}/infer.
type InferRequest struct {
	ID      string            `json:"id,omitempty"`
	Inputs  []Tensor          `json:"inputs"`
	Outputs []RequestedOutput `json:"outputs,omitempty"`
}

// InferResponse is its answer.
type InferResponse struct {
	ModelName    string   `json:"model_name"`
	ModelVersion string   `json:"model_version,omitempty"`
	ID           string   `json:"id,omitempty"`
	Outputs      []Tensor `json:"outputs"`
}

// TensorMeta describes a model input or output.
type TensorMeta struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is GET /v2/models/{model}.
type ModelMetadata struct {
	Name       string            `json:"name"`
	Versions   []string          `json:"versions,omitempty"`
	Platform   string            `json:"platform"`
	Inputs     []TensorMeta      `json:"inputs"`
	Outputs    []TensorMeta      `json:"outputs"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ErrorResponse is the protocol's error body.
type ErrorResponse struct {
	Error string `json:"error"`
}

// Names of the tensors Sieve uses.
const (
	InputText    = "text"
	OutputScores = "scores"
)
