"""Triton Python-backend model for Sieve's remote classifier.

Input "text" (BYTES, [n]) -> tokenizer.json -> model.onnx on ONNX Runtime
(CUDA when available) -> "scores" (FP32, [n, labels]): sigmoid for
multi-label exports, softmax otherwise, as Sieve's own ONNX backend does.
"""
import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.dirname(os.path.abspath(__file__))
        cfg = json.loads(args["model_config"])
        self.max_length = int(cfg.get("parameters", {}).get("max_length", {}).get("string_value", "256"))
        self.tok = Tokenizer.from_file(os.path.join(here, "tokenizer.json"))
        self.tok.enable_truncation(self.max_length)
        self.tok.enable_padding()
        with open(os.path.join(here, "config.json")) as f:
            hf = json.load(f)
        self.multi_label = hf.get("problem_type") == "multi_label_classification"
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        self.sess = ort.InferenceSession(os.path.join(here, "model.onnx"), providers=providers)
        self.inputs = {i.name for i in self.sess.get_inputs()}

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "text").as_numpy().reshape(-1)
            texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in raw]
            enc = self.tok.encode_batch(texts)
            feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
            logits = self.sess.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0].astype(np.float32)
            if self.multi_label:
                scores = 1.0 / (1.0 + np.exp(-logits))
            else:
                z = np.exp(logits - logits.max(axis=1, keepdims=True))
                scores = z / z.sum(axis=1, keepdims=True)
            out = pb_utils.Tensor("scores", scores.astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
