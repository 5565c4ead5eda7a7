"""A stand-in for Hugging Face transformers, ONLY for testing cuda/check_transformers.py on a machine
without transformers (PYTHONPATH=cuda/check_stub). It behaves like the real loader where the check
looks: from_pretrained(..., output_loading_info=True) returns (model, info) with missing /
unexpected / mismatched keys, logs a warning on the "transformers.modeling_utils" logger for
unexpected keys (as transformers does), and model(input_ids=...).logits runs the check's own
reference forward. It proves the check's transformers path (warning capture, loading info,
config and dtype checks, logits comparison), not transformers' compatibility.
"""
import json
import logging
import os
import sys
import types

__version__ = "0.0-stub"
_logger = logging.getLogger("transformers.modeling_utils")
utils = types.SimpleNamespace(logging=types.SimpleNamespace(set_verbosity_warning=lambda: None))


class _Model:
    def __init__(self, forward, cfg, params):
        self._forward = forward
        self.config = types.SimpleNamespace(**cfg)
        self._params = params

    def eval(self):
        return self

    def to(self, device):
        return self

    def parameters(self):
        return iter(self._params)

    def __call__(self, input_ids, use_cache=False):
        return types.SimpleNamespace(logits=self._forward(input_ids[0].tolist())[None])


class AutoModelForCausalLM:
    @staticmethod
    def from_pretrained(model_dir, torch_dtype=None, output_loading_info=False):
        check = sys.modules["__main__"]
        ref = check.ReferenceLoader("cpu")
        forward, cap, problems = ref.load(model_dir, ignore_unexpected=True)
        info = {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
        for p in problems:
            kind, _, rest = p.partition(": ")
            info.setdefault(kind, []).append(rest)
        if info["unexpected_keys"]:
            _logger.warning("Some weights of the model checkpoint at %s were not used when initializing "
                            "LlamaForCausalLM: %s", model_dir, info["unexpected_keys"])
        if info["mismatched_keys"]:
            raise RuntimeError(f"Error(s) in loading state_dict for LlamaForCausalLM: size mismatch "
                               f"{info['mismatched_keys']}")
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        model = _Model(forward, cfg, [check.torch.zeros(1, dtype=torch_dtype)])
        return (model, info) if output_loading_info else model
