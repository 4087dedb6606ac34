"""Sentence embeddings of recruiters' questions with all-MiniLM-L6-v2, in numpy alone.

sentence-transformers would run the same model but pulls torch, hundreds of megabytes that a Lambda zip
cannot hold. The model is small (6 BERT layers of width 384), so its forward pass is a few matrix products:
this module runs it with numpy over weights read by `safetensors`, after the `tokenizers` library's WordPiece
(the model's own tokenizer.json). The output is what sentence-transformers gives (mean pooling over the
tokens, then unit length), so cosine similarity is a dot product.

The weights ship compact (`reporter.model_files`): the matrices as int8 with one float scale per output row,
widened to float32 once at load, so the zip carries a quarter of the float32 bytes and the arithmetic stays
exact float32.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Tokenizer

Vectors = npt.NDArray[np.float32]

MODEL_DIRECTORY = Path(__file__).resolve().parent / "model"
WEIGHTS_FILE = "minilm.safetensors"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
# Questions are short; what is past this many tokens rarely changes what a question is about.
MAX_TOKENS = 48
# Texts per forward pass: enough to keep numpy's matrix products efficient, small enough that the attention
# scores of a batch (batch x heads x tokens x tokens) stay a few megabytes.
BATCH_SIZE = 64
SCALE_SUFFIX = ".scale"


class ModelMissingError(RuntimeError):
    """The compact model files are not where the reporter looks for them."""


@dataclass(frozen=True)
class _Layer:
    query: Vectors
    key: Vectors
    value: Vectors
    query_bias: Vectors
    key_bias: Vectors
    value_bias: Vectors
    attention_out: Vectors
    attention_out_bias: Vectors
    attention_norm: tuple[Vectors, Vectors]
    intermediate: Vectors
    intermediate_bias: Vectors
    output: Vectors
    output_bias: Vectors
    output_norm: tuple[Vectors, Vectors]


def _widen(tensors: dict[str, npt.NDArray[Any]]) -> dict[str, Vectors]:
    """float32 tensors from the compact file: int8 rows times their scale, float16 widened."""
    widened: dict[str, Vectors] = {}
    for name, tensor in tensors.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = tensors.get(name + SCALE_SUFFIX)
        values = tensor.astype(np.float32)
        widened[name] = values * scale.astype(np.float32)[:, None] if scale is not None else values
    return widened


def _gelu(values: Vectors) -> Vectors:
    """BERT's exact GELU, x * Phi(x), through the error function (numpy has none, so Abramowitz-Stegun 7.1.26
    with an error below 1.5e-7, far under float32 noise after a layer norm)."""
    half = values * np.float32(0.7071067811865476)
    sign = np.sign(half)
    absolute = np.abs(half)
    t = 1.0 / (1.0 + 0.3275911 * absolute)
    polynomial = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = sign * (1.0 - polynomial * np.exp(-absolute * absolute))
    result: Vectors = (0.5 * values * (1.0 + erf)).astype(np.float32)
    return result


def _layer_norm(values: Vectors, norm: tuple[Vectors, Vectors], epsilon: float) -> Vectors:
    weight, bias = norm
    mean = values.mean(axis=-1, keepdims=True)
    centred = values - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    result: Vectors = centred / np.sqrt(variance + epsilon) * weight + bias
    return result


class MiniLM:
    """all-MiniLM-L6-v2 loaded from a compact model directory; `embed` gives unit vectors, one per text."""

    def __init__(self, directory: Path) -> None:
        paths = [directory / name for name in (WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE)]
        missing = [path.name for path in paths if not path.exists()]
        if missing:
            raise ModelMissingError(
                f"the question model is not in {directory} ({', '.join(missing)} missing): "
                "build it with `python -m cv_analytics.model_files`"
            )
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.epsilon = float(config["layer_norm_eps"])
        weights = _widen(load_file(str(directory / WEIGHTS_FILE)))
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        self.layers = [self._layer(weights, index) for index in range(int(config["num_hidden_layers"]))]
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer = tokenizer

    @staticmethod
    def _layer(weights: dict[str, Vectors], index: int) -> _Layer:
        def get(name: str) -> Vectors:
            return weights[f"encoder.layer.{index}.{name}"]

        # Linear layers are stored (out, in); transposed once here so a forward pass is `x @ w`.
        return _Layer(
            query=np.ascontiguousarray(get("attention.self.query.weight").T),
            key=np.ascontiguousarray(get("attention.self.key.weight").T),
            value=np.ascontiguousarray(get("attention.self.value.weight").T),
            query_bias=get("attention.self.query.bias"),
            key_bias=get("attention.self.key.bias"),
            value_bias=get("attention.self.value.bias"),
            attention_out=np.ascontiguousarray(get("attention.output.dense.weight").T),
            attention_out_bias=get("attention.output.dense.bias"),
            attention_norm=(get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias")),
            intermediate=np.ascontiguousarray(get("intermediate.dense.weight").T),
            intermediate_bias=get("intermediate.dense.bias"),
            output=np.ascontiguousarray(get("output.dense.weight").T),
            output_bias=get("output.dense.bias"),
            output_norm=(get("output.LayerNorm.weight"), get("output.LayerNorm.bias")),
        )

    @property
    def dimensions(self) -> int:
        return int(self.word.shape[1])

    def knows(self, word: str) -> bool:
        """True when `word` (lower case) is one token of the model's vocabulary: the model has learnt what
        it means, rather than reading it as pieces."""
        return self.tokenizer.token_to_id(word) is not None

    def embed(self, texts: list[str]) -> Vectors:
        """One unit vector per text, in the order given. Texts are batched by token count, so a batch pads
        little."""
        result = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return result
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda index: len(encodings[index].ids))
        for start in range(0, len(order), BATCH_SIZE):
            chosen = order[start : start + BATCH_SIZE]
            result[chosen] = self._forward([encodings[index].ids for index in chosen])
        return result

    def _forward(self, sequences: list[list[int]]) -> Vectors:
        longest = max(len(ids) for ids in sequences)
        ids = np.zeros((len(sequences), longest), dtype=np.int64)
        mask = np.zeros((len(sequences), longest), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        hidden = self.word[ids] + self.position[:longest] + self.token_type
        hidden = _layer_norm(hidden, self.embedding_norm, self.epsilon)
        # Padding must not be attended to: a large negative score before the softmax.
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            hidden = self._block(hidden, blocked, layer)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def _block(self, hidden: Vectors, blocked: Vectors, layer: _Layer) -> Vectors:
        batch, tokens, width = hidden.shape
        head_width = width // self.heads

        def heads(values: Vectors) -> Vectors:
            return values.reshape(batch, tokens, self.heads, head_width).transpose(0, 2, 1, 3)

        query = heads(hidden @ layer.query + layer.query_bias)
        key = heads(hidden @ layer.key + layer.key_bias)
        value = heads(hidden @ layer.value + layer.value_bias)
        scores = query @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head_width)) + blocked
        scores -= scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ value).transpose(0, 2, 1, 3).reshape(batch, tokens, width)
        attended = _layer_norm(
            context @ layer.attention_out + layer.attention_out_bias + hidden,
            layer.attention_norm,
            self.epsilon,
        )
        intermediate = _gelu(attended @ layer.intermediate + layer.intermediate_bias)
        return _layer_norm(
            intermediate @ layer.output + layer.output_bias + attended, layer.output_norm, self.epsilon
        )


@lru_cache(maxsize=2)
def load(directory: Path = MODEL_DIRECTORY) -> MiniLM:
    """The model of `directory`, loaded once per process (a warm Lambda keeps it between weeks)."""
    return MiniLM(directory)
